"""Short strings sent to citizens, French first, English available.

The agents' pages are translated with gettext catalogs instead (``inbox/locale``, see
``inbox.web.render``).

Long citizen-facing texts are templates under ``config/templates/`` (``NAME.LANG.txt``) so that
a town hall can reword them without touching code.
"""

from __future__ import annotations

from functools import lru_cache
from string import Template

from gateway.core.settings import CONFIG_DIR

LANGUAGES = ("fr", "en")

STRINGS: dict[str, dict[str, str]] = {
    "ack_subject": {
        "fr": "[Réf. $reference] Accusé de réception : $subject",
        "en": "[Ref. $reference] Acknowledgement: $subject",
    },
    # One SMS segment: GSM-7 characters only (no ç, no curly quotes), at most 160 with the
    # authority's name; sms_text() (channels.sms_twilio) shortens the name if it must.
    "ack_sms": {
        "fr": "$authority : demande enregistrée, réf. $reference. "
        "Réponse sous $delay jours ouvrés.",
        "en": "$authority: request received, ref. $reference. Answer within $delay working days.",
    },
    "ack_call": {
        "fr": "$authority : appel manqué noté, nous vous rappelons. Réf. $reference.",
        "en": "$authority: missed call noted, we will call you back. Ref. $reference.",
    },
    "ack_chat": {
        "fr": "Bonjour, votre demande est bien enregistrée sous la référence $reference. "
        "$authority vous répondra sous $delay jours ouvrés. Rappelez cette référence si vous "
        "nous écrivez par un autre moyen (courriel, SMS, téléphone).",
        "en": "Hello, your request is registered under reference $reference. $authority will "
        "answer within $delay working days. Quote this reference if you contact us another "
        "way (e-mail, SMS, phone).",
    },
    # A public reply on X: nothing personal, no reference, only an invitation to write privately.
    "ack_public": {
        "fr": "Bonjour, merci pour votre message. Pour le traiter sans exposer vos données, "
        "écrivez-nous en message privé.",
        "en": "Hello, thank you for your message. So that we can handle it without exposing "
        "your data, please write to us in a direct message.",
    },
    "greeting": {
        "fr": "Bonjour, vous êtes en contact avec $authority. Écrivez-nous votre demande ici : "
        "un agent vous répondra. Vous recevrez une référence à rappeler.",
        "en": "Hello, you are in touch with $authority. Write your request here: an agent will "
        "answer. You will get a reference to quote.",
    },
    "attachment_missing": {
        "fr": "[Pièce jointe non récupérée : $name]",
        "en": "[Attachment not retrieved: $name]",
    },
    "reply_subject": {"fr": "[Réf. $reference] $subject", "en": "[Ref. $reference] $subject"},
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
