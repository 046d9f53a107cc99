"""Reading Twilio's inbound SMS/MMS form, without I/O.

The MessageSid is the dedupe key; STOP / ARRÊT / START (or Twilio's ``OptOutType``) become
opt-out / opt-in commands; MMS media become remote files that ``send.fetch`` downloads.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from channels.base import InboundMessage, ParseError, RemoteAttachment
from channels.twilio_auth import form_fields
from matching import normalize_phone

NAME = "sms"
MAX_MEDIA = 10  # Twilio's own limit per MMS
_SID = re.compile(r"[A-Za-z0-9]{10,64}")
_E164 = re.compile(r"\+[1-9][0-9]{5,14}")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Twilio's standard keywords, and the French ones people actually type (whole message only).
OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt", "stop sms"}
OPT_IN = {"start", "unstop", "yes", "demarrer", "démarrer"}
OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in"}  # Advanced Opt-Out; HELP is a message
# Twilio sends other channels (WhatsApp, Messenger) to a number's SMS webhook with a prefix.
FOREIGN_PREFIXES = ("whatsapp:", "messenger:", "rcs:")
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/quicktime": "mov",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "text/vcard": "vcf",
    "text/x-vcard": "vcf",
    "text/calendar": "ics",
    "text/plain": "txt",
    "application/pdf": "pdf",
}


def control_of(body: str, opt_out_type: str = "") -> str | None:
    """Whether the whole message is an opt-out or opt-in keyword: "opt_out", "opt_in" or None."""
    if opt_out_type:
        return OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    word = " ".join(unicodedata.normalize("NFC", body).split()).strip(".!").casefold()
    if word in OPT_OUT:
        return "opt_out"
    return "opt_in" if word in OPT_IN else None


def media_of(fields: dict[str, str]) -> tuple[RemoteAttachment, ...]:
    """MediaUrl{N} / MediaContentType{N} for N < NumMedia, named ``mms-1.jpg`` …"""
    count = fields.get("NumMedia", "0").strip() or "0"
    if not count.isascii() or not count.isdigit():
        raise ParseError("SMS webhook: NumMedia is not a number")
    refs = []
    for n in range(min(int(count), MAX_MEDIA)):
        url = fields.get(f"MediaUrl{n}", "").strip()
        if not url:  # the text still matters: do not quarantine it for one missing file
            continue
        ctype = fields.get(f"MediaContentType{n}", "").split(";")[0].strip().lower()
        if not _CONTENT_TYPE.fullmatch(ctype):
            ctype = "application/octet-stream"
        name = f"mms-{n + 1}.{EXTENSIONS.get(ctype, 'bin')}"
        refs.append(RemoteAttachment(url=url, content_type=ctype, filename=name))
    return tuple(refs)


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    """An InboundMessage from a journaled Twilio SMS/MMS webhook form body."""
    fields = form_fields(raw, "SMS webhook")
    sid = fields.get("MessageSid", "")
    if not _SID.fullmatch(sid):
        raise ParseError("SMS webhook: no valid MessageSid")
    origin = unicodedata.normalize("NFKC", fields.get("From", "")).strip()
    if origin.lower().startswith(FOREIGN_PREFIXES):
        raise ParseError("SMS webhook: not an SMS (another Twilio channel)")
    sender = normalize_phone(origin, "FR") if origin else None
    if sender is None or not _E164.fullmatch(sender):
        raise ParseError("SMS webhook: From is not a phone number")
    # PostgreSQL cannot store NUL; everything else is the citizen's text, kept as typed.
    body = fields.get("Body", "").replace("\x00", "")
    body = body.removesuffix("\n").removesuffix("\r")
    to = fields.get("To", "").strip()
    return InboundMessage(
        channel=NAME,
        sender=sender,
        recipients=(to,) if to else (),
        text=body,
        message_id=sid,
        remote_attachments=media_of(fields),
        control=control_of(body, fields.get("OptOutType", "")),
    )
