"""Reading Telegram updates (pure: no network, no database).

What is taken: ``message`` updates of private chats that carry text, a caption, a photo (its
largest size), a document, a voice note, an audio or video file, a location, a shared contact,
or ``/start`` (a greeting, no ticket). A contact she shares of herself (``user_id`` is hers) adds
her phone number to her record; anyone else's contact is only text. What is answered 200 (or
skipped by the poller) and never journaled: ``edited_message`` (the first version already made
its ticket; an edit is not a new request), channel posts, messages in groups, supergroups and
channels (the bot serves people one to one), callback and inline queries, block/unblock notices
(``my_chat_member``), polls, reactions, and private messages with nothing to read (a sticker, a
service message). A payload we cannot read at all is journaled: the pipeline quarantines it.
"""

from __future__ import annotations

import json
import posixpath
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from channels.base import InboundMessage, ParseError, RemoteAttachment, json_object
from matching import normalize_phone

NAME = "telegram"
FILE_SCHEME = "tg-file:"  # RemoteAttachment.url: this + the file_id, downloaded by send.fetch
MEDIA = {  # kind -> (default file name, default type); photos are always JPEG
    "document": ("document-{n}", "application/octet-stream"),
    "voice": ("voice-{n}.ogg", "audio/ogg"),
    "audio": ("audio-{n}.mp3", "audio/mpeg"),
    "video": ("video-{n}.mp4", "video/mp4"),
    "video_note": ("video-{n}.mp4", "video/mp4"),
}
CONTENT_KEYS = ("text", "caption", "photo", "contact", "location", *MEDIA)


def clean(value: str) -> str:
    """Text as PostgreSQL can store it: no NUL or other C0 controls, no lone surrogates."""
    value = value.encode("utf-8", "replace").decode("utf-8")
    return "".join(c for c in value if c in "\t\n\r" or unicodedata.category(c) != "Cc")


def safe_filename(value: str) -> str:
    """A file name a browser shows as it is: no path, no control or bidi characters."""
    value = posixpath.basename(clean(value).replace("\\", "/"))
    return "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cf"))[:200]


def _dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise ParseError(f"{key}: an object is required")
    return value


def _int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParseError(f"{key}: an integer is required")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise ParseError(f"{key}: a string is required")
    return clean(value)


def _load(raw: bytes) -> dict[str, Any]:
    return json_object(raw, "Telegram update")


def skip_reason(update: Any) -> str | None:
    """Why a readable update is not for us (answer 200, journal nothing), or None to take it.

    Anything we cannot read returns None: it is journaled, and ``normalize`` quarantines it.
    """
    if not isinstance(update, dict):
        return None
    if "message" not in update:
        kinds = [k for k in update if k != "update_id"]
        return kinds[0][:50] if kinds else None
    message = update["message"]
    chat = message.get("chat") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(chat, dict):
        return None
    if chat.get("type") != "private":
        return f"chat type {str(chat.get('type'))[:20]}"
    if not any(key in message for key in CONTENT_KEYS):
        return "nothing to read"
    return None


def wanted(raw: bytes) -> bool:
    try:
        return skip_reason(json.loads(raw)) is None
    except (ValueError, RecursionError):
        return True  # journaled, then quarantined with its raw bytes


def _area(size: dict[str, Any]) -> int:
    width, height = size.get("width"), size.get("height")
    return width * height if isinstance(width, int) and isinstance(height, int) else 0


def _attachments(message: dict[str, Any], n: int) -> tuple[RemoteAttachment, ...]:
    found = []
    photo = message.get("photo")
    if photo is not None:
        if not isinstance(photo, list) or not photo or not all(isinstance(p, dict) for p in photo):
            raise ParseError("photo: a list of sizes is required")
        # Telegram lists the sizes smallest first; the area decides, in case it ever does not.
        size = max(photo, key=_area)
        found.append(
            RemoteAttachment(FILE_SCHEME + _str(size, "file_id"), "image/jpeg", f"photo-{n}.jpg")
        )
    for kind, (default_name, default_type) in MEDIA.items():
        if kind in message:
            media = _dict(message, kind)
            name = safe_filename(_str(media, "file_name")) or default_name.format(n=n)
            mime = _str(media, "mime_type")
            mime = mime if re.fullmatch(r"[\w.+-]{1,60}/[\w.+-]{1,60}", mime) else default_type
            found.append(RemoteAttachment(FILE_SCHEME + _str(media, "file_id"), mime, name))
    if any(ref.url == FILE_SCHEME for ref in found):
        raise ParseError("file_id: must not be empty")
    return tuple(found)


def _phone(raw: str) -> str | None:
    # Telegram gives international numbers without the "+" ("33612345678").
    digits = raw.strip()
    if digits.isdigit() and not digits.startswith("0"):
        digits = "+" + digits
    return normalize_phone(digits, "FR")


def _extras(message: dict[str, Any], user_id: int | None) -> tuple[list[str], tuple[str, ...]]:
    """Lines for a shared contact or location, and the identifiers she gave of herself."""
    lines: list[str] = []
    identifiers: tuple[str, ...] = ()
    if "contact" in message:
        contact = _dict(message, "contact")
        number = _str(contact, "phone_number")
        owner = contact.get("user_id")
        if owner is not None and owner == user_id and (phone := _phone(number)):
            identifiers = (f"phone:{phone}",)
            lines.append(f"Numéro de téléphone partagé : {phone}")
        else:
            name = f"{_str(contact, 'first_name')} {_str(contact, 'last_name')}".strip()
            lines.append(f"Contact partagé : {name}, {number}".strip(" ,"))
    if "location" in message:
        where = _dict(message, "location")
        lat, lon = where.get("latitude"), where.get("longitude")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
            raise ParseError("location: latitude and longitude are required")
        lines.append(
            f"Position : {lat}, {lon} (https://www.openstreetmap.org/?mlat={lat}&mlon={lon})"
        )
    return lines, identifiers


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    update = _load(raw)
    update_id = _int(update, "update_id")
    reason = skip_reason(update)
    if reason is not None:
        raise ParseError(f"not a private message we take: {reason}")
    message = _dict(update, "message")
    chat = _dict(message, "chat")
    chat_id, n = _int(chat, "id"), _int(message, "message_id")
    user = message.get("from", chat)
    if not isinstance(user, dict):
        raise ParseError("from: an object is required")
    user_id = user.get("id") if isinstance(user.get("id"), int) else None
    text = "\n".join(t for t in (_str(message, "text"), _str(message, "caption")) if t)
    lines, identifiers = _extras(message, user_id)
    text = "\n".join([text, *lines]) if text else "\n".join(lines)
    command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    reply = message.get("reply_to_message")
    references: tuple[str, ...] = ()
    if (
        isinstance(reply, dict)
        and isinstance(reply.get("from"), dict)
        and reply["from"].get("is_bot")
    ):
        references = (f"telegram:{chat_id}:{_int(reply, 'message_id')}",)
    date = message.get("date")
    try:
        sent_at = datetime.fromtimestamp(date, UTC) if isinstance(date, int) else None
    except (OverflowError, OSError, ValueError):
        sent_at = None
    name = f"{_str(user, 'first_name')} {_str(user, 'last_name')}".strip()
    return InboundMessage(
        channel=NAME,
        sender=f"telegram:{chat_id}",
        sender_name=name[:200],
        text=text,
        message_id=f"telegram-update:{update_id}",
        references=references,
        sent_at=sent_at,
        remote_attachments=_attachments(message, n),
        identifiers=identifiers,
        control="start" if command == "/start" or command.startswith("/start@") else None,
    )
