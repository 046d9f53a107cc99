"""Outgoing messages: queued in the ticket's transaction, sent later by the outbox loop.

An outbox row is committed first, then sent, then marked sent, so a restart neither loses nor
(beyond the relay's own at-least-once) repeats a message. Rows are leased, not locked, while the
network call runs: the row is pushed into the future first, outside any transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from channels import email_smtp
from channels.base import ChannelError
from gateway import metrics
from gateway.db import Database
from gateway.models import OutboxItem, OutboxStatus, next_due
from gateway.settings import Settings
from inbox.models import Message, Ticket, utcnow

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


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
    """Record an outgoing e-mail in the ticket's thread and queue it for sending."""
    domain = settings.smtp.from_address.rpartition("@")[2] or "guichet.invalid"
    message_id = email_smtp.new_message_id(domain)
    out = Message(
        ticket_id=ticket.id or 0,
        direction="out",
        channel="email",
        agent_id=agent_id,
        external_id=message_id,
        sender=settings.smtp.from_address,
        subject=subject,
        text=body,
    )
    session.add(out)
    session.flush()
    session.add(
        OutboxItem(
            channel="email",
            kind=kind,
            ticket_id=ticket.id,
            message_id=out.id,
            recipient=to,
            content={
                "message_id": message_id,
                "subject": subject,
                "body": body,
                "in_reply_to": in_reply_to,
                "references": list(references),
                "automatic": kind == "ack",
            },
        )
    )
    return out


def render(settings: Settings, item: OutboxItem) -> bytes:
    c = item.content
    return email_smtp.compose(
        message_id=c["message_id"],
        from_address=settings.smtp.from_address,
        from_name=settings.authority_name,
        to=item.recipient,
        subject=c["subject"],
        body=c["body"],
        in_reply_to=c.get("in_reply_to"),
        references=c.get("references", ()),
        automatic=bool(c.get("automatic")),
    )


class Outbox:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def _lease(self) -> OutboxItem | None:
        with self.db.write() as session:
            item = next_due(session, OutboxItem, col(OutboxItem.next_attempt_at))
            if item is None:
                return None
            item.attempts += 1
            item.next_attempt_at = utcnow() + LEASE
            session.add(item)
            return item

    def send_one(self) -> bool:
        """Send the next due outgoing message; return False when none is due."""
        item = self._lease()
        if item is None:
            return False
        error: ChannelError | None = None
        try:
            raw = render(self.settings, item)
            relay, sender = self.settings.relay, self.settings.smtp.from_address
            email_smtp.send(relay, sender, item.recipient, raw)
        except ChannelError as exc:
            error = exc
        with self.db.write() as session:
            values: dict[str, object]
            if error is None:
                values = {"status": OutboxStatus.sent, "sent_at": utcnow(), "error": ""}
                metrics.OUTBOX_SENT.labels(item.channel, "sent").inc()
            else:
                give_up = error.permanent or item.attempts >= MAX_ATTEMPTS
                values = {
                    "status": OutboxStatus.failed if give_up else OutboxStatus.pending,
                    "next_attempt_at": utcnow() + backoff(item.attempts),
                    "error": str(error)[:2000],
                }
                metrics.OUTBOX_SENT.labels(item.channel, "failed" if give_up else "retry").inc()
                log.warning("outbox item %s not sent: %s", item.id, error)
            done = update(OutboxItem).where(col(OutboxItem.id) == item.id).values(**values)
            session.execute(done)
        return True
