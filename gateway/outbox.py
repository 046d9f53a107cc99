"""The outbox sender: delivers the outgoing messages the domain queued (``inbox.outbox``).

An outbox row is committed first, then sent, then marked sent with the provider's id, so a
restart neither loses nor (beyond the provider's own at-least-once) repeats a message. Rows are
leased, not locked, while the network call runs: the row is pushed into the future first,
outside any transaction. Each channel renders the stored content itself (``Channel.send``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

import channels
from channels.base import ChannelError, Sent
from gateway.core import metrics
from gateway.core.clock import utcnow
from gateway.core.db import Database
from gateway.core.models import OutboxItem, OutboxStatus, next_due
from gateway.core.settings import Settings
from inbox.models import Message
from inbox.outbox import opted_out, record_optout, set_delivery

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


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
            raise ChannelError(
                "opted out: the citizen asked not to be written to on this channel", permanent=True
            )
        if channel is None or channel.send is None or not channel.enabled(self.settings):
            raise ChannelError(
                f"the {item.channel} channel is not configured for sending", permanent=True
            )
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
                    set_delivery(message, sent.status)
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
                if error.opt_out:
                    record_optout(session, item.channel, item.recipient)
                if message is not None:
                    status = "opted_out" if refused else ("failed" if give_up else "pending")
                    message.delivery_error = str(error)[:2000]
                    if give_up:
                        set_delivery(message, status)
            if message is not None:
                session.add(message)
            done = update(OutboxItem).where(col(OutboxItem.id) == item.id).values(**values)
            session.execute(done)
        return True
