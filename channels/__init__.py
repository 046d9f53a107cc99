"""Channel adapters. Each channel registers the pure function that turns its raw payload into an
InboundMessage; adding a channel is one module and one line in ``NORMALIZERS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels import email
from channels.base import InboundMessage


def _email(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    return email.normalize(
        raw, envelope_from=envelope.get("mail_from"), recipients=envelope.get("rcpt_tos", ())
    )


NORMALIZERS: dict[str, Callable[[bytes, dict[str, Any]], InboundMessage]] = {
    "email": _email,
}


def normalize(channel: str, raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    return NORMALIZERS[channel](raw, envelope)
