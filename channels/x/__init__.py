"""X (Twitter): citizens mention the town hall's account or write to it privately.

``parse`` reads the journaled items (pure), ``send`` holds the tweepy client, the direct
messages and the one public answer, ``poller`` reads mentions and direct messages. A citizen's
address is ``x:<user id>``.
"""

from __future__ import annotations

from channels.base import Channel, Label
from channels.x import parse, poller, send
from gateway.core.settings import Settings


def enabled(settings: Settings) -> bool:
    return settings.x.enabled


def own_address(settings: Settings) -> str:
    return f"x:{settings.x.user_id}"


def states(settings: Settings) -> list[str]:
    return [parse.NAME]


CHANNEL = Channel(
    name=parse.NAME,
    normalize=parse.normalize,
    label=Label(fr="X", en="X"),
    icon="✕",
    enabled=enabled,
    contact="handle",
    conversational=True,
    acknowledgement=send.acknowledgement,
    send=send.send,
    own_address=own_address,
    pollers=poller.pollers,
    states=states,
)
