"""SMS through Twilio: citizens' SMS/MMS come in on a signed webhook, answers go out as SMS.

``parse`` reads Twilio's inbound form (pure), ``webhook`` holds the inbound and delivery-status
routes, ``send`` the outgoing SMS and MMS media downloads, ``text`` the SMS wording.
"""

from __future__ import annotations

from typing import Any

from channels.base import Channel, InboundMessage, Label, Receipt, short_acknowledgement
from channels.sms_twilio import parse, send, webhook
from channels.sms_twilio.text import sms_text
from gateway.core.settings import Settings
from matching import is_mobile


def enabled(settings: Settings) -> bool:
    return settings.twilio.enabled


def acknowledgement(settings: Settings, msg: InboundMessage, receipt: Receipt) -> dict[str, Any]:
    return short_acknowledgement(settings, msg, sms_text("ack_sms", settings, receipt.reference))


def own_address(settings: Settings) -> str:
    """Our sender: the number, or the Messaging Service that picks one."""
    return settings.twilio.from_number or settings.twilio.messaging_service_sid


CHANNEL = Channel(
    name=parse.NAME,
    normalize=parse.normalize,
    label=Label(fr="SMS", en="SMS"),
    icon="✆",
    enabled=enabled,
    contact="phone",
    conversational=True,
    reaches=is_mobile,  # only a mobile can read an SMS
    acknowledgement=acknowledgement,
    send=send.send,
    own_address=own_address,
    fetch=send.fetch,
    webhooks=webhook.webhooks,
)
