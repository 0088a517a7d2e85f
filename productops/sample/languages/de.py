"""German: what customers write in German, per theme and tone, and the parts around it.

Written as German customers put it, not translated from the English bank: the theme
patterns `de = [...]` in `config/themes.toml` find each phrase from its own words.
"""

from productops.sample.languages.bank import Bank

BANK = Bank(
    phrases={
        "pricing": {
            "neg": (
                "Die neuen Preise sind für ein Team unserer Größe viel zu teuer, wirklich enttäuschend.",
                "Nach der Preiserhöhung zahlen wir fast das Doppelte, das ist nicht mehr fair.",
                "Die Rechnung ist schon wieder gestiegen und kaum nachvollziehbar.",
                "Für diesen Preis schauen wir uns jetzt nach günstigeren Alternativen um.",
            ),
            "pos": (
                "Fairer Preis für das, was wir bekommen, das Preis-Leistungs-Verhältnis stimmt.",
                "Die Preise sind transparent und der Tarif passt in unser Budget.",
            ),
        },
        "onboarding": {
            "neg": (
                "Das Onboarding war mühsam, die Einrichtung hat Wochen gedauert.",
                "Der Einstieg ist holprig, die ersten Schritte sind schlecht erklärt.",
                "Die Einrichtung war ein Krampf, wir sind immer noch nicht startklar.",
            ),
            "pos": (
                "Das Onboarding lief reibungslos, der neue Einrichtungsassistent ist klasse.",
                "In zehn Minuten eingerichtet, die Checkliste für den Einstieg ist super.",
            ),
        },
        "performance": {
            "neg": (
                "Das Dashboard ist extrem langsam, jede Seite lädt ewig.",
                "Die Suche ist träge und bei großen Projekten ruckelt alles.",
                "Die Ladezeiten sind inzwischen eine echte Zumutung.",
            ),
            "pos": ("Alles lädt jetzt schnell, die Performance ist viel besser geworden.",),
        },
        "reliability": {
            "neg": (
                "Die App war heute schon wieder down, der nächste Ausfall. Nervig.",
                "Ständig Fehlermeldungen und Abstürze, der Dienst ist unzuverlässig.",
                "Beim letzten Ausfall haben wir Daten verloren, das darf nicht passieren.",
            ),
            "pos": ("Läuft absolut stabil, seit Monaten kein einziger Ausfall.",),
        },
        "integrations": {
            "neg": (
                "Die Slack-Integration verliert ständig die Verbindung, total frustrierend.",
                "Der Abgleich mit Jira klappt nicht, die Integration überträgt Änderungen nur teilweise.",
            ),
            "pos": ("Die Salesforce-Integration funktioniert perfekt, und die API ist top.",),
        },
        "usability": {
            "neg": (
                "Die Oberfläche ist überladen und man findet sich kaum zurecht.",
                "Viel zu viele Klicks für einfache Dinge, die Bedienung ist umständlich.",
                "Die Navigation ist verwirrend und unübersichtlich.",
            ),
            "pos": (
                "Schöne, intuitive Oberfläche, sehr leicht zu bedienen.",
                "Wirklich benutzerfreundlich, die Bedienung ist klar und aufgeräumt.",
            ),
        },
        "support": {
            "neg": (
                "Der Support hat vier Tage gebraucht, um auf mein Ticket zu antworten, inakzeptabel.",
                "Der Kundenservice war nutzlos und unfreundlich und hat mein Ticket ohne Lösung geschlossen.",
            ),
            "pos": (
                "Der Support war großartig, schnelle und freundliche Hilfe.",
                "Das Support-Team hat in wenigen Minuten geantwortet, vielen Dank!",
            ),
        },
        "documentation": {
            "neg": (
                "Die Dokumentation ist veraltet und es fehlen Beispiele.",
                "Die Anleitungen passen nicht mehr zur aktuellen Version.",
            ),
            "pos": ("Tolle Doku, die Anleitungen erklären wirklich alles.",),
        },
        "security": {
            "neg": (
                "Kein SSO und keine Audit-Logs, unsere IT-Sicherheit hat abgelehnt.",
                "Ohne DSGVO-konforme Verarbeitung dürfen wir das Tool nicht einsetzen.",
            ),
            "pos": (
                "SSO funktioniert einwandfrei, und die Sicherheitsprüfung haben wir problemlos bestanden.",
            ),
        },
        "feature_request": {
            "neg": (
                "Es fehlt immer noch eine Möglichkeit, Berichte zu exportieren, enttäuschend.",
            ),
            "pos": (
                "Ein Dunkelmodus wäre toll, ansonsten ein großartiges Produkt.",
                "Funktionswunsch: Massenbearbeitung wäre super.",
            ),
        },
    },
    neutral=(
        "Erfüllt seinen Zweck.",
        "Funktioniert wie erwartet.",
        "Wir nutzen es jede Woche.",
        "Nichts hinzuzufügen.",
    ),
    openers=(
        "",
        "",
        "Hallo zusammen, ",
        "Hallo, ",
        "Guten Tag, ",
        "Kurze Rückmeldung: ",
        "Zum Hintergrund: ",
        "Zu unserem Konto: ",
    ),
    contexts=(
        "Wir sind {k} Leute in {city}.",
        "Aufgefallen um {hh}:{mm} Uhr unserer Zeit.",
        "Workspace {code}, Projekt {proj}.",
        "Unsere Abteilung mit {k} Leuten nutzt es jeden Tag.",
        "Das kommt aus dem Büro in {city}, Kontostufe {tier}.",
        "Version {a}.{b}.{c} unter {os}.",
        "Wir haben {k} Boards und {k2} Mitglieder.",
        "Ich schreibe für unser Team in {city}.",
    ),
    closers=("", "", "", " Grüße.", " Viele Grüße.", " Von meinem Handy gesendet.", " Ref {code}."),
    mentions=("{p}: ", "Zu {p}: ", "Kurz zu {p}: ", "Wir nutzen {p} im Job. "),
    post_titles=(
        "Erfahrungen mit {p}?",
        "Frage zu {p}",
        "Nutzt jemand {p}?",
        "Meine Meinung zu {p}",
    ),
    incident_titles=("Ist {p} gerade down?", "{p} Ausfall bei euch auch?"),
    review_titles={
        "pos": ("Tolle App", "Sehr hilfreich", "Klare Empfehlung", "Super"),
        "neg": ("Enttäuschend", "Leider schlecht", "Nervig", "So nicht"),
        "neu": ("Ganz okay", "Geht so", "Solide"),
    },
    edit_notes=("Edit: Tippfehler.", "Nachtrag: Formatierung.", "Edit: Rechtschreibung."),
)

# The German App Store story: from the app update on, German reviews in the `de` storefront
# say the app crashes since the update. Only in German, in one storefront.
APP_UPDATE = (
    "Seit dem Update stürzt die App ständig ab.",
    "Seit dem letzten Update stürzt die App bei jedem Start ab.",
    "Nach dem Update nur noch Abstürze, so kann ich nicht arbeiten.",
    "Die App stürzt seit dem Update dauernd ab, bitte dringend beheben!",
    "Seit Version 4.3 ständige Abstürze beim Öffnen von Projekten.",
    "Seit dem Update ist die App unbrauchbar, sie stürzt beim Öffnen sofort ab.",
    "Jedes Mal, wenn ich ein Board öffne, stürzt die App ab. Seit dem Update geht gar nichts mehr.",
    "Update installiert, seitdem stürzt die App nach wenigen Sekunden ab.",
)
APP_UPDATE_TITLES = (
    "Stürzt ständig ab",
    "Abstürze seit dem Update",
    "Nur noch Abstürze",
    "Seit dem Update kaputt",
    "Absturz beim Start",
)
