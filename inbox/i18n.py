"""Short strings shown to agents and sent to citizens, French first, English available.

Long citizen-facing texts are templates under ``config/templates/`` (``NAME.LANG.txt``) so that
a town hall can reword them without touching code.
"""

from __future__ import annotations

from functools import lru_cache
from string import Template

from gateway.settings import CONFIG_DIR

LANGUAGES = ("fr", "en")

STRINGS: dict[str, dict[str, str]] = {
    "ack_subject": {
        "fr": "[Réf. $reference] Accusé de réception : $subject",
        "en": "[Ref. $reference] Acknowledgement: $subject",
    },
    "reply_subject": {"fr": "[Réf. $reference] $subject", "en": "[Ref. $reference] $subject"},
    "queue": {"fr": "File d'attente", "en": "Queue"},
    "reference": {"fr": "Référence", "en": "Reference"},
    "subject": {"fr": "Objet", "en": "Subject"},
    "citizen": {"fr": "Usager", "en": "Citizen"},
    "channel": {"fr": "Canal", "en": "Channel"},
    "status": {"fr": "Statut", "en": "Status"},
    "assignee": {"fr": "Agent", "en": "Agent"},
    "received": {"fr": "Reçu le", "en": "Received"},
    "due": {"fr": "Échéance", "en": "Due"},
    "review": {"fr": "À vérifier", "en": "Needs review"},
    "unassigned": {"fr": "Non attribué", "en": "Unassigned"},
    "empty_queue": {"fr": "Aucune demande en attente.", "en": "No request waiting."},
    "login": {"fr": "Connexion", "en": "Sign in"},
    "email": {"fr": "Adresse électronique", "en": "E-mail address"},
    "password": {"fr": "Mot de passe", "en": "Password"},
    "bad_login": {"fr": "Identifiants incorrects.", "en": "Wrong e-mail or password."},
    "logout": {"fr": "Se déconnecter", "en": "Sign out"},
    "status_new": {"fr": "Nouveau", "en": "New"},
    "status_open": {"fr": "En cours", "en": "Open"},
    "status_waiting_citizen": {"fr": "En attente de l'usager", "en": "Waiting for citizen"},
    "status_resolved": {"fr": "Résolu", "en": "Resolved"},
    "status_closed": {"fr": "Clos", "en": "Closed"},
    "reason_citizen_uncertain": {
        "fr": "usager incertain : à confirmer parmi les candidats",
        "en": "uncertain citizen: confirm among the candidates",
    },
    "reason_reference_other_sender": {
        "fr": "référence d'un autre dossier citée par un autre expéditeur",
        "en": "another case's reference quoted by a different sender",
    },
}


def text(key: str, lang: str = "fr", **values: str) -> str:
    table = STRINGS[key]
    return Template(table.get(lang, table["fr"])).safe_substitute(values)


@lru_cache(maxsize=32)
def _template(name: str, lang: str) -> Template:
    path = CONFIG_DIR / "templates" / f"{name}.{lang}.txt"
    if not path.exists():
        path = CONFIG_DIR / "templates" / f"{name}.fr.txt"
    return Template(path.read_text(encoding="utf-8"))


def render(name: str, lang: str = "fr", **values: str) -> str:
    return _template(name, lang).safe_substitute(values)
