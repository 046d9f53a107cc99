"""Telegram: citizens write to the town hall's bot in a private chat.

``parse`` reads updates (pure), ``send`` holds the bot client, sending and file downloads,
``webhook`` receives updates in webhook mode and ``poller`` fetches them in polling mode.
A citizen's address is ``telegram:<chat id>``.
"""

from __future__ import annotations

from channels.base import Channel, Label, chat_acknowledgement
from channels.telegram import parse, poller, send, webhook
from gateway.core.settings import Settings


def enabled(settings: Settings) -> bool:
    return settings.telegram.enabled


def own_address(settings: Settings) -> str:
    return "telegram:bot"


CHANNEL = Channel(
    name=parse.NAME,
    normalize=parse.normalize,
    label=Label(fr="Telegram", en="Telegram"),
    icon="✈",
    enabled=enabled,
    contact="handle",
    conversational=True,
    acknowledgement=chat_acknowledgement,
    send=send.send,
    own_address=own_address,
    fetch=send.fetch,
    webhooks=webhook.webhooks,
    pollers=poller.pollers,
)
