"""Telegram: citizens write to the town hall's bot in a private chat.

Updates arrive by webhook (``telegram.mode = "webhook"``: ``POST /webhooks/telegram``, checked
against ``X-Telegram-Bot-Api-Secret-Token``) or by long polling (``"polling"``: getUpdates from
the checkpoint ``telegram`` = ``{"offset": n}``, each update journaled before the offset moves).

What is taken: ``message`` updates of private chats that carry text, a caption, a photo (its
largest size), a document, a voice note, an audio or video file, a location, a shared contact,
or ``/start`` (a greeting, no ticket). A contact she shares of herself (``user_id`` is hers) adds
her phone number to her record; anyone else's contact is only text. What is answered 200 (or
skipped by the poller) and never journaled: ``edited_message`` (the first version already made
its ticket; an edit is not a new request), channel posts, messages in groups, supergroups and
channels (the bot serves people one to one), callback and inline queries, block/unblock notices
(``my_chat_member``), polls, reactions, and private messages with nothing to read (a sticker, a
service message). A payload we cannot read at all is journaled: the pipeline quarantines it.

Outgoing messages are plain text (never parse_mode: a citizen's or agent's ``<b>`` stays
``<b>``), split at Telegram's 4096-character limit, stored as ``telegram:<chat>:<message_id>``
so a reply to one of them finds its ticket. The library is async: each call runs its own
``asyncio.run`` in the calling thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import mimetypes
import posixpath
import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request, Response
from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from channels.base import (
    Attachment,
    Channel,
    ChannelError,
    InboundMessage,
    ParseError,
    RemoteAttachment,
    Runtime,
    Sent,
    json_object,
)
from channels.web import ingest, settings_of, tls_context
from channels.webhooks import Webhooks
from gateway.core.channel_state import load_checkpoint, save_checkpoint
from gateway.core.settings import Settings
from matching import normalize_phone

log = logging.getLogger(__name__)
NAME = "telegram"
FILE_SCHEME = "tg-file:"
TEXT_LIMIT = 4096  # UTF-16 code units per message
MEDIA = {  # kind -> (default file name, default type); photos are always JPEG
    "document": ("document-{n}", "application/octet-stream"),
    "voice": ("voice-{n}.ogg", "audio/ogg"),
    "audio": ("audio-{n}.mp3", "audio/mpeg"),
    "video": ("video-{n}.mp4", "video/mp4"),
    "video_note": ("video-{n}.mp4", "video/mp4"),
}
CONTENT_KEYS = ("text", "caption", "photo", "contact", "location", *MEDIA)


# -- reading updates (pure) --


def _clean(value: str) -> str:
    """Text as PostgreSQL can store it: no NUL or other C0 controls, no lone surrogates."""
    value = value.encode("utf-8", "replace").decode("utf-8")
    return "".join(c for c in value if c in "\t\n\r" or unicodedata.category(c) != "Cc")


def _filename(value: str) -> str:
    """A file name a browser shows as it is: no path, no control or bidi characters."""
    value = posixpath.basename(_clean(value).replace("\\", "/"))
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
    return _clean(value)


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
            name = _filename(_str(media, "file_name")) or default_name.format(n=n)
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


# -- the Bot API (thin shells) --


def _error(exc: TelegramError, what: str) -> ChannelError:
    """Blocked, unknown chat, bad file: permanent. Rate limits, timeouts, 5xx, bad token: not."""
    err = ChannelError(f"Telegram {what} ({type(exc).__name__}): {exc.message}")
    err.permanent = isinstance(exc, Forbidden | BadRequest | ChatMigrated)
    return err


def _permanent(message: str) -> ChannelError:
    err = ChannelError(message)
    err.permanent = True
    return err


@asynccontextmanager
async def _bot(settings: Settings, read_timeout: float = 20.0) -> AsyncIterator[Bot]:
    base = settings.telegram.api_base.rstrip("/") or "https://api.telegram.org"
    request = HTTPXRequest(
        connect_timeout=5.0,
        read_timeout=read_timeout,
        write_timeout=20.0,
        httpx_kwargs={"verify": tls_context()},
    )
    bot = Bot(
        settings.telegram.bot_token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=request,
        get_updates_request=request,
    )
    try:
        yield bot
    finally:
        await request.shutdown()


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces Telegram accepts (``limit`` UTF-16 units), cut at a line if possible."""
    pieces: list[str] = []
    while _units(text) > limit:
        cut, units = 0, 0
        while units + _units(text[cut]) <= limit:
            units += _units(text[cut])
            cut += 1
        line = text.rfind("\n", 0, cut)
        cut = line + 1 if line > cut // 2 else cut
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text] if text else pieces


def _chat_of(recipient: str) -> int:
    prefix, _, chat = recipient.partition(":")
    if prefix != NAME or not chat.lstrip("-").isdigit():
        raise _permanent("not a Telegram chat address")
    return int(chat)


def _reply_target(in_reply_to: Any, chat_id: int) -> int | None:
    """The message answered, when ``in_reply_to`` names one of this chat's messages."""
    if not isinstance(in_reply_to, str):
        return None
    prefix, chat, message = ([*in_reply_to.split(":"), "", ""])[:3]
    if prefix == NAME and chat == str(chat_id) and message.isdigit():
        return int(message)
    return None


async def _send(settings: Settings, chat_id: int, pieces: list[str], reply_to: int | None) -> int:
    first = 0
    async with _bot(settings) as bot:
        for piece in pieces:
            # Sent even if the message answered was deleted meanwhile.
            reply = (
                ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            )
            sent = await bot.send_message(chat_id, piece, reply_parameters=reply)
            first, reply_to = first or sent.message_id, None
    return first


def send(settings: Settings, recipient: str, content: dict[str, Any]) -> Sent:
    chat_id = _chat_of(recipient)
    body = _clean(str(content.get("body") or "")).strip()
    if not body:
        raise _permanent("empty message: Telegram refuses it")
    reply_to = _reply_target(content.get("in_reply_to"), chat_id)
    try:
        message_id = asyncio.run(_send(settings, chat_id, chunks(body), reply_to))
    except TelegramError as exc:
        raise _error(exc, "sendMessage") from exc
    return Sent(provider_id=f"telegram:{chat_id}:{message_id}", status="sent")


async def _download(settings: Settings, file_id: str, cap: int) -> tuple[bytes, str]:
    async with _bot(settings, read_timeout=60.0) as bot:
        try:
            file = await bot.get_file(file_id)
        except TelegramError as exc:  # "file is too big" (over 20 MB) is a BadRequest
            raise _error(exc, "getFile") from exc
        if (file.file_size or 0) > cap or not file.file_path:
            raise _permanent(f"Telegram file refused: {file.file_size} bytes, limit {cap}")
        try:
            data = bytes(await file.download_as_bytearray())
        except InvalidToken as exc:  # a 404 after getFile succeeded: the link expired
            raise _permanent("Telegram file no longer available") from exc
        except TelegramError as exc:
            raise _error(exc, "download") from exc
        if len(data) > cap:
            raise _permanent(f"Telegram file refused: over {cap} bytes")
        return data, file.file_path


def fetch(settings: Settings, ref: RemoteAttachment) -> Attachment:
    file_id = ref.url.removeprefix(FILE_SCHEME)
    if not ref.url.startswith(FILE_SCHEME) or not file_id:
        raise _permanent("not a Telegram file reference")
    data, path = asyncio.run(_download(settings, file_id, settings.smtp.max_message_size))
    name = _filename(ref.filename) or _filename(path) or "telegram-file"
    kind = ref.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Attachment(filename=name, content_type=kind, data=data)


# -- webhook --

webhooks = Webhooks()


@webhooks.post("/webhooks/telegram")
async def webhook(request: Request) -> Response:
    settings = settings_of(request)
    if settings.telegram.mode != "webhook":
        raise HTTPException(status_code=404)
    expected = settings.telegram.secret_token.get_secret_value().encode()
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
    if not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(status_code=403, detail="invalid secret token")
    raw = await request.body()
    if not wanted(raw):
        return Response(status_code=200)  # Telegram stops retrying; nothing for us in it
    try:
        await ingest(request, NAME, raw, {})
    except Exception as exc:
        log.error("telegram update not journaled: %s", type(exc).__name__)
        return Response(status_code=503)  # Telegram retries later
    return Response(status_code=200)


# -- polling --


def _describe(exc: Exception) -> str:
    if isinstance(exc, TelegramError):  # Telegram's own description: no personal data
        return f"{type(exc).__name__}: {exc.message}"[:300]
    return type(exc).__name__


async def _get_updates(settings: Settings, offset: int, stop: Any, first: bool) -> list[Any]:
    """One long poll, abandoned as soon as ``stop`` is set (unconfirmed updates come again)."""
    timeout = min(max(settings.telegram.poll_timeout_seconds, 0), 50)
    async with _bot(settings, read_timeout=timeout + 10.0) as bot:
        if first:  # getUpdates answers 409 while a webhook is set
            await bot.delete_webhook()
        query = urlencode(
            {"offset": offset, "timeout": timeout, "allowed_updates": json.dumps(["message"])}
        )
        # The raw request, not bot.get_updates(): the journal keeps each update as Telegram
        # sent it, and one update the library cannot read must not block the others.
        call = asyncio.ensure_future(bot.request.post(f"{bot.base_url}/getUpdates?{query}"))
        while not call.done():
            await asyncio.wait({call}, timeout=0.2)
            if stop.is_set() and not call.done():
                call.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await call
                return []
        result = call.result()
    return result if isinstance(result, list) else []


def poll_once(runtime: Runtime, first: bool = False) -> int:
    """Take one batch of updates; journal each, then move the checkpoint past it."""
    offset = int((load_checkpoint(runtime.db, NAME) or {}).get("offset", 0))
    taken = 0
    for update in asyncio.run(_get_updates(runtime.settings, offset, runtime.stop, first)):
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or update_id < offset:
            log.warning("telegram update without a usable update_id skipped")
            continue
        raw = json.dumps(update).encode()  # ASCII: a lone surrogate cannot block the poller
        if skip_reason(update) is None:
            runtime.ingest(NAME, raw, {})
            taken += 1
        offset = update_id + 1
        save_checkpoint(runtime.db, NAME, {"offset": offset})
    return taken


def pollers(runtime: Runtime) -> list[Callable[[], None]]:
    settings = runtime.settings.telegram
    if not settings.enabled or settings.mode != "polling":
        return []

    def poll() -> None:
        failures, started = 0, False
        while not runtime.stop.is_set():
            try:
                poll_once(runtime, first=not started)
                started = True
            except Exception as exc:
                failures += 1
                log.warning("telegram poller: %s", type(exc).__name__)
                runtime.report(NAME, _describe(exc))
                runtime.stop.wait(min(2 ** (failures - 1), 60))
                continue
            failures = 0
            runtime.report(NAME, None)

    return [poll]


CHANNEL = Channel(
    name=NAME,
    normalize=normalize,
    enabled=lambda s: s.telegram.enabled,
    send=send,
    fetch=fetch,
    webhooks=webhooks,
    pollers=pollers,
)
