"""Spanish: what customers write in Spanish, per theme and tone, and the parts around it."""

from productops.sample.languages.bank import Bank

BANK = Bank(
    phrases={
        "pricing": {
            "neg": (
                "Los nuevos precios son demasiado caros para un equipo de nuestro tamaño, muy decepcionado.",
                "La subida de precio es injusta y el coste es difícil de justificar.",
                "La factura se ha duplicado, ya no compensa y estamos mirando alternativas más baratas.",
            ),
            "pos": (
                "Precio justo para lo que ofrece, buena relación calidad-precio.",
                "Los precios son claros y el plan encaja en nuestro presupuesto.",
            ),
        },
        "onboarding": {
            "neg": (
                "El onboarding fue un suplicio, la puesta en marcha nos llevó semanas.",
                "Los primeros pasos están mal explicados y la configuración inicial se hace eterna.",
            ),
            "pos": (
                "El onboarding fue muy fluido, el nuevo asistente de configuración es genial.",
                "En diez minutos estábamos listos, la checklist de primeros pasos es estupenda.",
            ),
        },
        "performance": {
            "neg": (
                "El panel es lentísimo, cada página tarda una eternidad en cargar.",
                "La búsqueda va lenta y la app se arrastra con proyectos grandes.",
            ),
            "pos": ("Ahora todo carga rápido, el rendimiento ha mejorado muchísimo.",),
        },
        "reliability": {
            "neg": (
                "La app se ha vuelto a caer hoy, otra caída más. Qué fastidio.",
                "Errores y cuelgues constantes, el servicio no es fiable.",
                "Durante la caída perdimos datos.",
            ),
            "pos": ("Muy estable, ni una caída en meses, buen trabajo.",),
        },
        "integrations": {
            "neg": (
                "La integración con Slack se desconecta continuamente, qué frustración.",
                "La sincronización con Jira no funciona, la integración pierde cambios.",
            ),
            "pos": ("La integración con Salesforce funciona perfecto, y la API es una maravilla.",),
        },
        "usability": {
            "neg": (
                "La interfaz está recargada y es difícil moverse por ella.",
                "Demasiados clics para cosas sencillas, la navegación es confusa.",
            ),
            "pos": (
                "Interfaz bonita e intuitiva, muy fácil de usar.",
                "Muy fácil de usar, la UX está muy cuidada.",
            ),
        },
        "support": {
            "neg": (
                "El soporte tardó cuatro días en responder a mi ticket, inaceptable.",
                "La atención al cliente fue inútil y grosera, cerraron mi ticket sin solucionarlo.",
            ),
            "pos": (
                "El soporte fue increíble, ayuda rápida y amable.",
                "El equipo de soporte respondió en minutos, ¡gracias!",
            ),
        },
        "documentation": {
            "neg": (
                "La documentación está desactualizada y faltan ejemplos.",
                "Las guías ya no corresponden a la versión actual.",
            ),
            "pos": ("Documentación excelente, los tutoriales lo explican todo.",),
        },
        "security": {
            "neg": (
                "Sin SSO ni registros de auditoría, el equipo de seguridad lo rechazó.",
                "Sin garantías claras de RGPD no podemos usarlo en la empresa.",
            ),
            "pos": ("El SSO funciona perfectamente y la revisión de seguridad fue bien.",),
        },
        "feature_request": {
            "neg": ("Sigue sin haber forma de exportar informes, decepcionante.",),
            "pos": (
                "Me encantaría un modo oscuro, por lo demás un gran producto.",
                "Petición: la edición masiva sería genial.",
            ),
        },
    },
    neutral=(
        "Cumple su función.",
        "Funciona como se espera.",
        "Lo usamos cada semana.",
        "Nada que añadir.",
    ),
    openers=(
        "",
        "",
        "Hola, ",
        "Hola equipo, ",
        "Buenas, ",
        "Una nota: ",
        "Contexto: ",
        "Sobre nuestra cuenta: ",
    ),
    contexts=(
        "Somos {k} personas en {city}.",
        "Lo vimos a las {hh}:{mm}, hora local.",
        "Espacio {code}, proyecto {proj}.",
        "Nuestro departamento de {k} personas lo usa a diario.",
        "Escribo desde la oficina de {city}, nivel de cuenta {tier}.",
        "Versión {a}.{b}.{c} en {os}.",
        "Tenemos {k} tableros y {k2} miembros.",
        "Escribo en nombre de nuestro equipo de {city}.",
    ),
    closers=("", "", "", " Saludos.", " Un saludo.", " Enviado desde mi móvil.", " Ref. {code}."),
    mentions=("{p}: ", "Sobre {p}: ", "Usamos {p} en el trabajo. ", "Respecto a {p}: "),
    post_titles=(
        "¿Opiniones sobre {p}?",
        "Pregunta sobre {p}",
        "¿Alguien usa {p}?",
        "Mi experiencia con {p}",
    ),
    incident_titles=("¿Se ha caído {p}?", "¿{p} caído para todos?"),
    review_titles={
        "pos": ("Muy buena app", "Muy útil", "La recomiendo", "Genial"),
        "neg": ("Decepcionante", "Muy mal", "Frustrante", "No la recomiendo"),
        "neu": ("Está bien", "Normalita", "Cumple"),
    },
    edit_notes=("Edit: formato.", "Editado: una errata.", "Edit: ortografía."),
)
