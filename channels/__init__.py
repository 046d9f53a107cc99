"""Channel adapters, declared once. Adding a channel is one package and one line in ``CHANNELS``.

Each entry is a ``Channel`` (channels.base): everything the rest of Guichet needs to know about
it, from its pure ``normalize`` to the way it acknowledges and answers a citizen. The order is
the one agents see in lists and the order of preference when several channels can answer.
"""

from __future__ import annotations

from typing import Any

from channels import email, phone, sms_twilio, telegram, x
from channels.base import Channel, InboundMessage

CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (email.CHANNEL, sms_twilio.CHANNEL, phone.CHANNEL, telegram.CHANNEL, x.CHANNEL)
}


def normalize(channel: str, raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    return CHANNELS[channel].normalize(raw, envelope)
