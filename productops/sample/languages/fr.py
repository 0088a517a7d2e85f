"""French: what customers write in French, per theme and tone, and the parts around it."""

from productops.sample.languages.bank import Bank

BANK = Bank(
    phrases={
        "pricing": {
            "neg": (
                "Les nouveaux tarifs sont beaucoup trop chers pour une équipe de notre taille, vraiment déçu.",
                "L'augmentation de prix est injuste et le coût est difficile à justifier.",
                "Notre facture a doublé, le rapport qualité-prix n'y est plus, on regarde des alternatives moins chères.",
            ),
            "pos": (
                "Prix correct pour ce qu'on obtient, bon rapport qualité-prix.",
                "La tarification est claire et l'abonnement rentre dans notre budget.",
            ),
        },
        "onboarding": {
            "neg": (
                "La prise en main a été pénible, la mise en place nous a pris des semaines.",
                "Les premiers pas sont laborieux, rien n'est expliqué pendant l'installation.",
            ),
            "pos": (
                "L'onboarding s'est très bien passé, le nouvel assistant de configuration est top.",
                "Opérationnels en dix minutes, la checklist de démarrage est parfaite.",
            ),
        },
        "performance": {
            "neg": (
                "Le tableau de bord est vraiment lent, chaque page met des heures à charger.",
                "La recherche rame et l'appli saccade dès qu'un projet devient gros.",
            ),
            "pos": ("Tout se charge vite maintenant, les performances sont bien meilleures.",),
        },
        "reliability": {
            "neg": (
                "L'appli était encore en panne aujourd'hui, encore une coupure. Agaçant.",
                "Des erreurs et des plantages en permanence, le service n'est pas fiable.",
                "Pendant la panne, nous avons perdu des données.",
            ),
            "pos": ("Très stable, aucune panne depuis des mois, bravo.",),
        },
        "integrations": {
            "neg": (
                "L'intégration Slack se déconnecte sans arrêt, c'est pénible.",
                "La synchro avec Jira ne marche plus, l'intégration perd des modifications.",
            ),
            "pos": ("L'intégration Salesforce fonctionne parfaitement, et l'API est top.",),
        },
        "usability": {
            "neg": (
                "L'interface est surchargée et on s'y perd.",
                "Beaucoup trop de clics pour des choses simples, la navigation est confuse.",
            ),
            "pos": (
                "Belle interface, intuitive et facile à utiliser.",
                "Vraiment ergonomique, l'UX est soignée.",
            ),
        },
        "support": {
            "neg": (
                "Le support a mis quatre jours à répondre à mon ticket, inacceptable.",
                "Service client inutile et désagréable, mon ticket a été fermé sans solution.",
            ),
            "pos": (
                "Le support est génial, une aide rapide et sympathique.",
                "L'équipe support a répondu en quelques minutes, merci !",
            ),
        },
        "documentation": {
            "neg": (
                "La documentation est obsolète et il manque des exemples.",
                "Les guides ne correspondent plus à la version actuelle.",
            ),
            "pos": ("Excellente documentation, les tutoriels couvrent tout.",),
        },
        "security": {
            "neg": (
                "Pas de SSO ni de journaux d'audit, notre équipe sécurité a dit non.",
                "Sans garanties RGPD claires, impossible de le déployer chez nous.",
            ),
            "pos": ("Le SSO fonctionne parfaitement et l'audit de sécurité s'est bien passé.",),
        },
        "feature_request": {
            "neg": ("Toujours pas de moyen d'exporter les rapports, décevant.",),
            "pos": (
                "Un mode sombre serait top, sinon super produit.",
                "Suggestion : la modification en masse serait super.",
            ),
        },
    },
    neutral=(
        "Ça fait le travail.",
        "Fonctionne comme prévu.",
        "On l'utilise chaque semaine.",
        "Rien à ajouter.",
    ),
    openers=(
        "",
        "",
        "Bonjour, ",
        "Bonjour à tous, ",
        "Salut, ",
        "Petit retour : ",
        "Pour info : ",
        "Concernant notre compte : ",
    ),
    contexts=(
        "Nous sommes {k} personnes à {city}.",
        "Constaté à {hh}h{mm}, heure locale.",
        "Espace {code}, projet {proj}.",
        "Notre pôle de {k} personnes l'utilise tous les jours.",
        "Depuis le bureau de {city}, niveau de compte {tier}.",
        "Version {a}.{b}.{c} sous {os}.",
        "Nous avons {k} tableaux et {k2} membres.",
        "J'écris au nom de notre équipe de {city}.",
    ),
    closers=(
        "",
        "",
        "",
        " Cordialement.",
        " Bonne journée.",
        " Envoyé de mon téléphone.",
        " Réf. {code}.",
    ),
    mentions=("{p} : ", "À propos de {p} : ", "On utilise {p} au boulot. ", "Concernant {p} : "),
    post_titles=(
        "Vos avis sur {p} ?",
        "Question sur {p}",
        "Quelqu'un utilise {p} ?",
        "Mon retour sur {p}",
    ),
    incident_titles=("{p} est en panne ?", "Panne de {p} en ce moment ?"),
    review_titles={
        "pos": ("Super appli", "Très utile", "Je recommande", "Top"),
        "neg": ("Décevant", "Pas terrible", "Pénible", "Bof"),
        "neu": ("Correct", "Moyen", "Sans plus"),
    },
    edit_notes=("Edit : orthographe.", "Edit : mise en forme.", "Modifié : une faute de frappe."),
)
