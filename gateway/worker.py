"""The pipeline worker and the loop that runs background steps.

Workers claim journal rows with ``FOR UPDATE SKIP LOCKED``, so several processes can share one
PostgreSQL; SQLite runs a single worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlmodel import Session, col, select

import channels
from channels.base import Attachment, ParseError
from gateway.core import metrics
from gateway.core.blobs import BlobStore
from gateway.core.clock import utcnow
from gateway.core.db import Database
from gateway.core.models import JournalItem, JournalStatus, next_due
from gateway.core.settings import Settings
from gateway.journal import Journal
from gateway.outbox import backoff
from gateway.pipeline import StageFailed, fetch_media, run_stages
from gateway.pipeline.context import Context
from inbox import routing
from inbox.registry import CitizenRegistry

log = logging.getLogger(__name__)
MEDIA_CACHE = 64
# Channels whose messages may name files held by the provider.
FETCHING = {name for name, channel in channels.CHANNELS.items() if channel.fetch is not None}


class Pipeline:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        registry: CitizenRegistry,
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.registry = registry
        routing.of(settings)  # read and checked now: a broken file fails at start-up
        self.blobs = BlobStore(settings.blob_dir)
        self.on_done = on_done  # wakes the outbox: an item may have queued an acknowledgement
        self.media: dict[str, Attachment] = {}  # prefetched remote files, shared by workers

    def _prefetch(self) -> None:
        """Download the next item's remote files before its transaction opens (see fetch_media)."""
        with self.db.read() as session:
            item = session.exec(
                select(JournalItem)
                .where(JournalItem.status == JournalStatus.pending)
                .where(col(JournalItem.next_attempt_at) <= utcnow())
                .order_by(col(JournalItem.id))
                .limit(1)
            ).first()
            if item is None or item.channel not in FETCHING:
                return
            raw, envelope, channel = item.raw, item.envelope, item.channel
        try:
            msg = channels.normalize(channel, raw, envelope)
        except ParseError:
            return
        if len(self.media) > MEDIA_CACHE:  # left over by items that failed: start afresh
            self.media.clear()
        fetch_media.prefetch(self.settings, msg, self.media)

    def process_one(self) -> bool:
        """Process the oldest due journal item; return False when there is none."""
        self._prefetch()
        item_id = None
        try:
            with self.db.write() as session:
                item = next_due(session, JournalItem, col(JournalItem.id))
                if item is None:
                    return False
                item_id = item.id
                changed = self._process(session, item)
        except Exception as exc:
            if item_id is None:
                raise
            self._record_failure(item_id, exc)
            return True
        if changed is not None:  # committed: this process matches against it at once
            self.registry.reload([changed])
        self.on_done()
        return True

    def _process(self, session: Session, item: JournalItem) -> int | None:
        """Run the stages; return the id of a citizen record they created or changed."""
        try:
            msg = channels.normalize(item.channel, item.raw, item.envelope)
        except ParseError as exc:
            item.status = JournalStatus.quarantined
            item.error = str(exc)[:2000]
            item.processed_at = utcnow()
            metrics.MESSAGES_PROCESSED.labels("quarantined").inc()
            log.info("journal item %s quarantined: %s", item.id, exc)
            return None
        ctx = Context(
            session=session,
            settings=self.settings,
            blobs=self.blobs,
            item=item,
            msg=msg,
            registry=self.registry,
            prefetched=self.media,
        )
        run_stages(ctx)
        duplicate = ctx.stopped and not ctx.finished
        item.status = JournalStatus.duplicate if duplicate else JournalStatus.done
        item.ticket_id = ctx.ticket.id if ctx.ticket else None
        item.processed_at = utcnow()
        item.error = ""
        metrics.MESSAGES_PROCESSED.labels(item.status).inc()
        metrics.PIPELINE_SECONDS.observe((item.processed_at - item.received_at).total_seconds())
        return ctx.citizen.id if ctx.citizen and ctx.citizen_changed else None

    def _record_failure(self, item_id: int, exc: Exception) -> None:
        # Exception text may quote personal data: it goes to the database (supervisors only),
        # the log gets the stage and the type.
        stage = ""
        if isinstance(exc, StageFailed):
            stage, exc = exc.stage, exc.error
        log.error("journal item %s failed in %s: %s", item_id, stage or "-", type(exc).__name__)
        with self.db.write() as session:
            item = session.get_one(JournalItem, item_id)
            item.attempts += 1
            item.error = f"{type(exc).__name__}: {exc}"[:2000]
            item.next_attempt_at = utcnow() + backoff(item.attempts)
            if item.attempts >= self.settings.pipeline.max_attempts:
                item.status = JournalStatus.failed
                metrics.MESSAGES_PROCESSED.labels("failed").inc()
            session.add(item)


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


def yielding(step: Callable[[], bool], journal: Journal, share: float) -> Callable[[], bool]:
    """Wrap a pipeline step so that during an intake burst it takes at most ``share`` of the time.

    Accepting mail is the promise that matters (a sender waits for its 250); turning it into
    tickets can lag by seconds, since the journal holds every message durably. Sleeping between
    items releases both the GIL and SQLite's write lock to the intake path.
    """

    def step_politely() -> bool:
        started = time.monotonic()
        busy = step()
        if busy and journal.receiving():
            time.sleep((time.monotonic() - started) * (1 - share) / share)
        return busy

    return step_politely


def every(step: Callable[[], None], seconds: float, stop: threading.Event) -> None:
    """Call ``step`` every ``seconds`` until ``stop`` is set, surviving its errors."""
    while not stop.wait(seconds):
        try:
            step()
        except Exception as exc:
            log.error("periodic task error: %s", type(exc).__name__)
