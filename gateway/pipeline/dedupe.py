"""Stage 1: the same message delivered twice (Message-ID + sender) makes one ticket entry."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from gateway.core.db import serialize_on
from gateway.pipeline.context import Context
from inbox.models import Message, Ticket


def dedupe_key(channel: str, message_id: str | None, sender: str, raw: bytes) -> str:
    # Without a Message-ID only a byte-identical payload counts as the same delivery.
    identity = message_id or "raw:" + hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(f"{channel}\0{identity}\0{sender}".encode()).hexdigest()


def run(ctx: Context) -> None:
    ctx.dedupe_key = dedupe_key(ctx.msg.channel, ctx.msg.message_id, ctx.msg.sender, ctx.item.raw)
    serialize_on(ctx.session, "dedupe:" + ctx.dedupe_key)  # two copies in flight: one waits
    existing = ctx.session.exec(select(Message).where(Message.dedupe_key == ctx.dedupe_key)).first()
    if existing is not None:
        ctx.ticket = ctx.session.get_one(Ticket, existing.ticket_id)
        ctx.stopped = True
