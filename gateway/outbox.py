"""Outgoing messages on every channel: queued in the ticket's transaction, sent by the outbox loop.

An outbox row is committed first, then sent, then marked sent with the provider's id, so a
restart neither loses nor (beyond the provider's own at-least-once) repeats a message. Rows are
leased, not locked, while the network call runs: the row is pushed into the future first,
outside any transaction. Each channel renders the stored content itself (``Channel.send``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

import channels
from channels import email_smtp
from channels.base import ChannelError, Sent
from gateway import metrics
from gateway.db import Database
from gateway.models import OptOut, OutboxItem, OutboxStatus, next_due
from gateway.settings import Settings
from inbox.models import Message, Ticket, utcnow

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12
# Provider delivery statuses, in the order they happen: a late callback never moves a message
# back (Twilio may report "sent" after "delivered"). Failures are final.
DELIVERY_RANK = {"pending": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4}
FINAL = {"failed", "undelivered", "opted_out"}


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def our_address(settings: Settings, channel: str) -> str:
    """Who the citizen sees the message from, as recorded on the outgoing Message."""
    return {
        "email": settings.smtp.from_address,
        "sms": settings.twilio.from_number or settings.twilio.messaging_service_sid,
        "telegram": "telegram:bot",
        "x": f"x:{settings.x.user_id}",
    }.get(channel, channel)


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
    subject: str = "",
) -> Message | None:
    """Queue one outgoing message; record it in the ticket's thread when there is a ticket."""
    out = None
    if ticket is not None:
        out = Message(
            ticket_id=ticket.id or 0,
            direction="out",
            channel=channel,
            agent_id=agent_id,
            external_id=content.get("message_id"),
            sender=our_address(settings, channel),
            subject=subject,
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


def enqueue_email(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    *,
    kind: str,
    to: str,
    subject: str,
    body: str,
    in_reply_to: str | None,
    references: Sequence[str] = (),
    agent_id: int | None = None,
) -> Message:
    """Queue an e-mail with its own Message-ID, so the citizen's reply threads back to us."""
    domain = settings.smtp.from_address.rpartition("@")[2] or "guichet.invalid"
    content = {
        "message_id": email_smtp.new_message_id(domain),
        "subject": subject,
        "body": body,
        "in_reply_to": in_reply_to,
        "references": list(references),
        "automatic": kind == "ack",
    }
    out = enqueue(
        session,
        settings,
        ticket,
        channel="email",
        kind=kind,
        to=to,
        content=content,
        agent_id=agent_id,
        subject=subject,
    )
    assert out is not None
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
        _set_delivery(message, status, error)
        session.add(message)
        return True


def _set_delivery(message: Message, status: str, error: str = "") -> None:
    if message.delivery_status in FINAL:
        return
    if status in FINAL or DELIVERY_RANK.get(status, -1) >= DELIVERY_RANK.get(
        message.delivery_status, 0
    ):
        message.delivery_status = status
        if error:
            message.delivery_error = error[:2000]


class Outbox:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def _lease(self) -> tuple[OutboxItem, bool] | None:
        with self.db.write() as session:
            item = next_due(session, OutboxItem, col(OutboxItem.next_attempt_at))
            if item is None:
                return None
            item.attempts += 1
            item.next_attempt_at = utcnow() + LEASE
            session.add(item)
            return item, opted_out(session, item.channel, item.recipient)

    def _send(self, item: OutboxItem, refused: bool) -> Sent:
        channel = channels.CHANNELS.get(item.channel)
        if refused:
            raise _permanent("opted out: the citizen asked not to be written to on this channel")
        if channel is None or channel.send is None or not channel.enabled(self.settings):
            raise _permanent(f"the {item.channel} channel is not configured for sending")
        return channel.send(self.settings, item.recipient, item.content)

    def send_one(self) -> bool:
        """Send the next due outgoing message; return False when none is due."""
        leased = self._lease()
        if leased is None:
            return False
        item, refused = leased
        error: ChannelError | None = None
        sent: Sent | None = None
        try:
            sent = self._send(item, refused)
        except ChannelError as exc:
            error = exc
        except Exception as exc:  # a library raising something unexpected: retry, keep going
            error = ChannelError(f"{type(exc).__name__}: {exc}")
        with self.db.write() as session:
            values: dict[str, object]
            message = session.get(Message, item.message_id) if item.message_id else None
            if sent is not None:
                values = {
                    "status": OutboxStatus.sent,
                    "sent_at": utcnow(),
                    "error": "",
                    "provider_id": sent.provider_id[:998],
                }
                metrics.OUTBOX_SENT.labels(item.channel, "sent").inc()
                if message is not None:
                    message.external_id = message.external_id or sent.provider_id
                    _set_delivery(message, sent.status)
            else:
                assert error is not None
                give_up = error.permanent or item.attempts >= MAX_ATTEMPTS
                values = {
                    "status": OutboxStatus.failed if give_up else OutboxStatus.pending,
                    "next_attempt_at": utcnow() + backoff(item.attempts),
                    "error": str(error)[:2000],
                }
                metrics.OUTBOX_SENT.labels(item.channel, "failed" if give_up else "retry").inc()
                log.warning("outbox item %s not sent: %s", item.id, type(error).__name__)
                if getattr(error, "optout", False):
                    _record_optout(session, item.channel, item.recipient)
                if message is not None:
                    status = "opted_out" if refused else ("failed" if give_up else "pending")
                    message.delivery_error = str(error)[:2000]
                    if give_up:
                        _set_delivery(message, status)
            if message is not None:
                session.add(message)
            done = update(OutboxItem).where(col(OutboxItem.id) == item.id).values(**values)
            session.execute(done)
        return True


def _record_optout(session: Session, channel: str, address: str) -> None:
    if not opted_out(session, channel, address):
        session.add(OptOut(channel=channel, address=address))


def _permanent(message: str) -> ChannelError:
    err = ChannelError(message)
    err.permanent = True
    return err
