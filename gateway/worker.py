"""The two background loops of a gateway process: the pipeline and the outbox.

Both claim rows from the database, so several processes can share one PostgreSQL: pipeline
workers with ``FOR UPDATE SKIP LOCKED`` (ignored by SQLite, which runs one worker), the outbox
with a lease (the row is pushed into the future before the network call, outside any lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session, col, select

import channels
from channels import email_smtp
from channels.base import ChannelError, ParseError
from gateway import metrics
from gateway.blobs import BlobStore
from gateway.db import Database
from gateway.models import JournalItem, JournalStatus, OutboxItem, OutboxStatus
from gateway.pipeline import run_stages
from gateway.pipeline.context import Context
from gateway.settings import Settings
from inbox.models import utcnow

log = logging.getLogger(__name__)
OUTBOX_LEASE = timedelta(minutes=5)
OUTBOX_MAX_ATTEMPTS = 12


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


Row = TypeVar("Row", JournalItem, OutboxItem)


def next_due(session: Session, model: type[Row], order: Any) -> Row | None:
    """Lock and return the first pending row whose time has come, skipping rows other workers
    hold (PostgreSQL); SQLite's single writer makes the lock implicit."""
    return session.exec(
        select(model)
        .where(model.status == "pending", model.next_attempt_at <= utcnow())
        .order_by(order)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


class Pipeline:
    def __init__(
        self, db: Database, settings: Settings, on_done: Callable[[], None] = lambda: None
    ) -> None:
        self.db = db
        self.settings = settings
        self.blobs = BlobStore(settings.blob_dir)
        self.on_done = on_done  # wakes the outbox: an item may have queued an acknowledgement

    def process_one(self) -> bool:
        """Process the oldest due journal item; return False when there is none."""
        item_id = None
        try:
            with self.db.write() as session:
                item = next_due(session, JournalItem, col(JournalItem.id))
                if item is None:
                    return False
                item_id = item.id
                self._process(session, item)
        except Exception as exc:
            if item_id is None:
                raise
            self._record_failure(item_id, exc)
            return True
        self.on_done()
        return True

    def _process(self, session: Session, item: JournalItem) -> None:
        try:
            msg = channels.normalize(item.channel, item.raw, item.envelope)
        except ParseError as exc:
            item.status = JournalStatus.quarantined
            item.error = str(exc)[:2000]
            item.processed_at = utcnow()
            metrics.MESSAGES_PROCESSED.labels("quarantined").inc()
            log.info("journal item %s quarantined: %s", item.id, exc)
            return
        ctx = Context(session=session, settings=self.settings, blobs=self.blobs, item=item, msg=msg)
        run_stages(ctx)
        item.status = JournalStatus.duplicate if ctx.stopped else JournalStatus.done
        item.ticket_id = ctx.ticket.id if ctx.ticket else None
        item.processed_at = utcnow()
        item.error = ""
        metrics.MESSAGES_PROCESSED.labels(item.status).inc()
        metrics.PIPELINE_SECONDS.observe((item.processed_at - item.received_at).total_seconds())

    def _record_failure(self, item_id: int, exc: Exception) -> None:
        # Exception text may quote personal data: it goes to the database (supervisors only),
        # the log gets the type.
        log.error("journal item %s failed: %s", item_id, type(exc).__name__)
        with self.db.write() as session:
            item = session.get_one(JournalItem, item_id)
            item.attempts += 1
            item.error = f"{type(exc).__name__}: {exc}"[:2000]
            item.next_attempt_at = utcnow() + backoff(item.attempts)
            if item.attempts >= self.settings.pipeline.max_attempts:
                item.status = JournalStatus.failed
                metrics.MESSAGES_PROCESSED.labels("failed").inc()
            session.add(item)


class Outbox:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def _lease(self) -> OutboxItem | None:
        now = utcnow()
        with self.db.write() as session:
            item = next_due(session, OutboxItem, col(OutboxItem.next_attempt_at))
            if item is None:
                return None
            item.attempts += 1
            item.next_attempt_at = now + OUTBOX_LEASE
            session.add(item)
            return item

    def send_one(self) -> bool:
        """Send the next due outgoing message; return False when none is due."""
        item = self._lease()
        if item is None:
            return False
        error: ChannelError | None = None
        try:
            email_smtp.send(
                self.settings.relay, self.settings.smtp.from_address, item.recipient, item.payload
            )
        except ChannelError as exc:
            error = exc
        with self.db.write() as session:
            values: dict[str, object]
            if error is None:
                values = {"status": OutboxStatus.sent, "sent_at": utcnow(), "error": ""}
                metrics.OUTBOX_SENT.labels(item.channel, "sent").inc()
            else:
                give_up = error.permanent or item.attempts >= OUTBOX_MAX_ATTEMPTS
                values = {
                    "status": OutboxStatus.failed if give_up else OutboxStatus.pending,
                    "next_attempt_at": utcnow() + backoff(item.attempts),
                    "error": str(error)[:2000],
                }
                metrics.OUTBOX_SENT.labels(item.channel, "failed" if give_up else "retry").inc()
                log.warning("outbox item %s not sent: %s", item.id, error)
            session.execute(
                update(OutboxItem).where(col(OutboxItem.id) == item.id).values(**values)
            )
        return True


def run_loop(
    step: Callable[[], bool], wake: threading.Event, stop: threading.Event, idle: float
) -> None:
    """Call ``step`` until it has nothing to do, then sleep until woken; stop when told."""
    while not stop.is_set():
        wake.clear()
        try:
            busy = step()
        except Exception as exc:  # the database went away: wait and try again
            log.error("background loop error: %s", type(exc).__name__)
            busy = False
            stop.wait(1.0)
        if not busy:
            wake.wait(idle)
