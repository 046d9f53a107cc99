"""Talking to the Bot API: the bot client, sending a message, fetching a citizen's file.

Outgoing messages are plain text (never parse_mode: a citizen's or agent's ``<b>`` stays
``<b>``), split at Telegram's 4096-character limit, stored as ``telegram:<chat>:<message_id>``
so a reply to one of them finds its ticket. The library is async: each call runs its own
``asyncio.run`` in the calling thread.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from channels.base import Attachment, ChannelError, RemoteAttachment, Sent
from channels.telegram.parse import FILE_SCHEME, NAME, clean, safe_filename
from channels.web import tls_context
from gateway.core.settings import Settings

TEXT_LIMIT = 4096  # UTF-16 code units per message


def _error(exc: TelegramError, what: str) -> ChannelError:
    """Blocked, unknown chat, bad file: permanent. Rate limits, timeouts, 5xx, bad token: not."""
    return ChannelError(
        f"Telegram {what} ({type(exc).__name__}): {exc.message}",
        permanent=isinstance(exc, Forbidden | BadRequest | ChatMigrated),
    )


@asynccontextmanager
async def client(settings: Settings, read_timeout: float = 20.0) -> AsyncIterator[Bot]:
    """A bot on ``telegram.api_base`` (the public Bot API by default), closed on exit."""
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
        raise ChannelError("not a Telegram chat address", permanent=True)
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
    async with client(settings) as bot:
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
    body = clean(str(content.get("body") or "")).strip()
    if not body:
        raise ChannelError("empty message: Telegram refuses it", permanent=True)
    reply_to = _reply_target(content.get("in_reply_to"), chat_id)
    try:
        message_id = asyncio.run(_send(settings, chat_id, chunks(body), reply_to))
    except TelegramError as exc:
        raise _error(exc, "sendMessage") from exc
    return Sent(provider_id=f"telegram:{chat_id}:{message_id}", status="sent")


async def _download(settings: Settings, file_id: str, cap: int) -> tuple[bytes, str]:
    async with client(settings, read_timeout=60.0) as bot:
        try:
            file = await bot.get_file(file_id)
        except TelegramError as exc:  # "file is too big" (over 20 MB) is a BadRequest
            raise _error(exc, "getFile") from exc
        if (file.file_size or 0) > cap or not file.file_path:
            raise ChannelError(
                f"Telegram file refused: {file.file_size} bytes, limit {cap}", permanent=True
            )
        try:
            data = bytes(await file.download_as_bytearray())
        except InvalidToken as exc:  # a 404 after getFile succeeded: the link expired
            raise ChannelError("Telegram file no longer available", permanent=True) from exc
        except TelegramError as exc:
            raise _error(exc, "download") from exc
        if len(data) > cap:
            raise ChannelError(f"Telegram file refused: over {cap} bytes", permanent=True)
        return data, file.file_path


def fetch(settings: Settings, ref: RemoteAttachment) -> Attachment:
    file_id = ref.url.removeprefix(FILE_SCHEME)
    if not ref.url.startswith(FILE_SCHEME) or not file_id:
        raise ChannelError("not a Telegram file reference", permanent=True)
    data, path = asyncio.run(_download(settings, file_id, settings.smtp.max_message_size))
    name = safe_filename(ref.filename) or safe_filename(path) or "telegram-file"
    kind = ref.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Attachment(filename=name, content_type=kind, data=data)
