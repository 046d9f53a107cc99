"""The x channel (stub: being written)."""

from __future__ import annotations

from typing import Any

from channels.base import Channel, InboundMessage, ParseError


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    raise ParseError("not implemented yet")


CHANNEL = Channel(name="x", normalize=normalize, enabled=lambda s: s.x.enabled)
