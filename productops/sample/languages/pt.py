"""Portuguese (as written in Brazil): what customers write, per theme and tone, and the parts around it."""

from productops.sample.languages.bank import Bank

BANK = Bank(
    phrases={
        "pricing": {
            "neg": (
                "Os novos preços estão caros demais para uma equipe do nosso tamanho, muito decepcionado.",
                "O aumento de preço é injusto e o custo é difícil de justificar.",
                "A fatura dobrou, o custo-benefício acabou e estamos procurando alternativas mais baratas.",
            ),
            "pos": (
                "Preço justo pelo que oferece, ótimo custo-benefício.",
                "Os preços são claros e o plano cabe no nosso orçamento.",
            ),
        },
        "onboarding": {
            "neg": (
                "O onboarding foi penoso, a implantação levou semanas.",
                "Os primeiros passos são mal explicados e a configuração inicial não acaba nunca.",
            ),
            "pos": (
                "O onboarding foi tranquilo, o novo assistente de configuração é ótimo.",
                "Em dez minutos estava tudo pronto, adorei o checklist de primeiros passos.",
            ),
        },
        "performance": {
            "neg": (
                "O painel está muito lento, cada página demora uma eternidade para carregar.",
                "A busca é lenta e o app fica travando com projetos grandes.",
            ),
            "pos": ("Agora tudo carrega rápido, o desempenho melhorou muito.",),
        },
        "reliability": {
            "neg": (
                "O app caiu de novo hoje, mais uma queda. Que chato.",
                "Erros e falhas o tempo todo, o serviço não é confiável.",
                "Durante a queda perdemos dados.",
            ),
            "pos": ("Super estável, nenhuma queda em meses, parabéns.",),
        },
        "integrations": {
            "neg": (
                "A integração com o Slack vive desconectando, que frustração.",
                "A sincronização com o Jira não funciona, a integração perde alterações.",
            ),
            "pos": ("A integração com o Salesforce funciona perfeitamente, e a API é excelente.",),
        },
        "usability": {
            "neg": (
                "A interface é poluída e difícil de navegar.",
                "Cliques demais para coisas simples, a navegação é confusa.",
            ),
            "pos": (
                "Interface bonita e intuitiva, muito fácil de usar.",
                "Muito fácil de usar, a UX é caprichada.",
            ),
        },
        "support": {
            "neg": (
                "O suporte levou quatro dias para responder meu chamado, inaceitável.",
                "O atendimento foi inútil e grosseiro, fecharam meu chamado sem solução.",
            ),
            "pos": (
                "O suporte foi incrível, ajuda rápida e simpática.",
                "A equipe de suporte respondeu em minutos, obrigado!",
            ),
        },
        "documentation": {
            "neg": (
                "A documentação está desatualizada e faltam exemplos.",
                "Os guias não batem mais com a versão atual.",
            ),
            "pos": ("Documentação excelente, os tutoriais explicam tudo.",),
        },
        "security": {
            "neg": (
                "Sem SSO e sem logs de auditoria, o time de segurança vetou.",
                "Sem garantias claras de LGPD não podemos usar na empresa.",
            ),
            "pos": ("O SSO funciona muito bem e a revisão de segurança foi tranquila.",),
        },
        "feature_request": {
            "neg": ("Ainda não tem como exportar relatórios, decepcionante.",),
            "pos": (
                "Adoraria um modo escuro, fora isso um ótimo produto.",
                "Sugestão: edição em massa seria ótimo.",
            ),
        },
    },
    neutral=(
        "Cumpre o que promete.",
        "Funciona como esperado.",
        "Usamos toda semana.",
        "Nada a acrescentar.",
    ),
    openers=(
        "",
        "",
        "Olá, ",
        "Oi, pessoal, ",
        "Bom dia, ",
        "Um retorno: ",
        "Contexto: ",
        "Sobre nossa conta: ",
    ),
    contexts=(
        "Somos {k} pessoas em {city}.",
        "Percebi às {hh}:{mm}, horário local.",
        "Espaço {code}, projeto {proj}.",
        "Nosso departamento de {k} pessoas usa todo dia.",
        "Escrevo do escritório de {city}, nível de conta {tier}.",
        "Versão {a}.{b}.{c} rodando em {os}.",
        "Temos {k} quadros e {k2} membros.",
        "Escrevo em nome da nossa equipe em {city}.",
    ),
    closers=("", "", "", " Abraços.", " Att.", " Enviado do meu celular.", " Ref. {code}."),
    mentions=("{p}: ", "Sobre o {p}: ", "Usamos o {p} na empresa. ", "Falando do {p}: "),
    post_titles=(
        "Opiniões sobre o {p}?",
        "Dúvida sobre o {p}",
        "Alguém usa o {p}?",
        "Minha experiência com o {p}",
    ),
    incident_titles=("O {p} caiu?", "{p} fora do ar?"),
    review_titles={
        "pos": ("App excelente", "Muito bom", "Muito útil", "Recomendo"),
        "neg": ("Decepcionante", "Muito ruim", "Frustrante", "Não recomendo"),
        "neu": ("Razoável", "Mais ou menos", "Ok"),
    },
    edit_notes=("Edit: formatação.", "Editado: corrigi a digitação.", "Edit: ortografia."),
)
