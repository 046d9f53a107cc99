"""The SMS wording: an acknowledgement fits one GSM-7 segment, the reference always in it."""

from __future__ import annotations

import unicodedata

from gateway.core import i18n
from gateway.core.settings import Settings

SMS_SEGMENT = 160
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_SUBSTITUTES = {"ç": "c", "œ": "oe", "Œ": "OE", "’": "'", "«": '"', "»": '"', "–": "-"}


def to_gsm7(text: str) -> str:
    """Spell ``text`` with GSM-7 characters only (else the SMS switches to UCS-2: 70 per part)."""
    out = []
    for ch in text:
        if ch in GSM7:
            out.append(ch)
            continue
        ch = GSM7_SUBSTITUTES.get(ch, ch)
        bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if c in GSM7)
        out.append(bare or "?")
    return "".join(out)


def sms_text(key: str, settings: Settings, reference: str) -> str:
    """One SMS segment with the reference; the authority's name is shortened to make room."""
    authority = to_gsm7(settings.authority_name)
    values = {"reference": reference, "delay": str(settings.ack.answer_delay_days)}
    text = to_gsm7(i18n.text(key, settings.language, authority=authority, **values))
    if len(text) > SMS_SEGMENT:
        room = len(authority) - (len(text) - SMS_SEGMENT) - 1
        authority = authority[: max(room, 0)].rstrip() + "."
        text = to_gsm7(i18n.text(key, settings.language, authority=authority, **values))
    return text[:SMS_SEGMENT]
