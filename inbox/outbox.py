"""Outgoing messages, queued in the ticket's transaction: the domain's side of the outbox.

A reply or an acknowledgement is an ``OutboxItem`` committed with the ticket's changes, and a
``Message`` in the thread when there is a ticket; the process's sender (``gateway.outbox``)
delivers it later, outside any transaction. Delivery reports from providers move the
message's status forward only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from channels import CHANNELS
from gateway.core.clock import utcnow
from gateway.core.db import Database
from gateway.core.models import OptOut, OutboxItem
from gateway.core.settings import Settings
from inbox.models import Message, Ticket

# Provider delivery statuses, in the order they happen: a late callback never moves a message
# back (Twilio may report "sent" after "delivered"). Failures are final.
DELIVERY_RANK = {"pending": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4}
FINAL = {"failed", "undelivered", "opted_out"}


def opted_out(session: Session, channel: str, address: str) -> bool:
    return (
        session.exec(
            select(OptOut.id).where(OptOut.channel == channel, OptOut.address == address)
        ).first()
        is not None
    )


def sent_lately(session: Session, recipient: str, kind: str, hours: float = 1) -> int:
    """How many ``kind`` messages (ack, greeting) went to ``recipient`` lately: for the caps."""
    since = utcnow() - timedelta(hours=hours)
    count: int = session.exec(
        select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.recipient == recipient, OutboxItem.kind == kind)
        .where(OutboxItem.created_at >= since)
    ).one()
    return count


def enqueue(
    session: Session,
    settings: Settings,
    ticket: Ticket | None,
    *,
    channel: str,
    kind: str,
    to: str,
    content: dict[str, Any],
    agent_id: int | None = None,
) -> Message | None:
    """Queue one outgoing message; record it in the ticket's thread when there is a ticket.

    ``content`` is what to say (``body``, and ``subject``, ``in_reply_to``… as the channel
    reads them); the channel completes it first (``Channel.prepare``: an e-mail's Message-ID).
    """
    spec = CHANNELS[channel]
    if spec.prepare is not None:
        content = spec.prepare(settings, content)
    out = None
    if ticket is not None:
        out = Message(
            ticket_id=ticket.id or 0,
            direction="out",
            channel=channel,
            agent_id=agent_id,
            external_id=content.get("message_id"),
            sender=spec.our_address(settings),
            subject=content.get("subject", ""),
            text=content["body"],
            delivery_status="pending",
        )
        session.add(out)
        session.flush()
    session.add(
        OutboxItem(
            channel=channel,
            kind=kind,
            ticket_id=ticket.id if ticket else None,
            message_id=out.id if out else None,
            recipient=to,
            content=content,
        )
    )
    return out


def record_delivery(
    db: Database, channel: str, provider_id: str, status: str, error: str = ""
) -> bool:
    """Apply a provider's delivery report to the outgoing message; False if it is not ours."""
    with db.write() as session:
        item = session.exec(
            select(OutboxItem).where(
                OutboxItem.channel == channel, OutboxItem.provider_id == provider_id
            )
        ).first()
        if item is None or item.message_id is None:
            return False
        message = session.get_one(Message, item.message_id)
        set_delivery(message, status, error)
        session.add(message)
        return True


def set_delivery(message: Message, status: str, error: str = "") -> None:
    if message.delivery_status in FINAL:
        return
    if status in FINAL or DELIVERY_RANK.get(status, -1) >= DELIVERY_RANK.get(
        message.delivery_status, 0
    ):
        message.delivery_status = status
        if error:
            message.delivery_error = error[:2000]


def record_optout(session: Session, channel: str, address: str) -> None:
    if not opted_out(session, channel, address):
        session.add(OptOut(channel=channel, address=address))
