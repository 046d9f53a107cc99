"""Channel adapters, declared once. Adding a channel is one module and one line in ``CHANNELS``.

Each entry names the journal channel (``Message.channel``) and what the process needs of it:
the pure ``normalize``, the outbound ``send``, media ``fetch``, webhook routes and pollers.
"""

from __future__ import annotations

from typing import Any

from channels import email, email_imap, email_smtp, phone, sms_twilio, telegram, x
from channels.base import Channel, InboundMessage


def _email(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    return email.normalize(
        raw,
        envelope_from=envelope.get("mail_from"),
        recipients=envelope.get("rcpt_tos", ()),
        team=envelope.get("team", ""),
    )


EMAIL = Channel(
    name="email",
    normalize=_email,
    send=email_smtp.send_content,
    pollers=email_imap.pollers,
    states=email_imap.state_names,
)

CHANNELS: dict[str, Channel] = {
    c.name: c for c in (EMAIL, sms_twilio.CHANNEL, phone.CHANNEL, telegram.CHANNEL, x.CHANNEL)
}


def normalize(channel: str, raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    return CHANNELS[channel].normalize(raw, envelope)
