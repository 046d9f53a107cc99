"""The intake journal: every inbound payload is committed here before its sender gets an answer.

Appends from concurrent sessions are handed to one writer thread that commits whatever has
queued up while the previous commit ran (group commit): one fsync per batch instead of one per
message, with no added delay when traffic is light.

On SQLite the writer inserts through the DB-API cursor, with values converted by the columns'
own SQLAlchemy types: the writer shares the GIL with the event loop that answers providers,
and SQLAlchemy's per-statement work took twice the time of the inserts (bench/channels.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import col

from gateway.core.clock import utcnow
from gateway.core.db import Database
from gateway.core.models import JournalItem, JournalStatus

log = logging.getLogger(__name__)
MAX_BATCH = 256


@dataclass
class _Entry:
    channel: str
    raw: bytes
    envelope: dict[str, Any]
    # Settled by the writer thread once the batch is committed (or not): an asyncio future on
    # ``loop`` for a webhook or SMTP session, a concurrent future for a poller thread.
    future: asyncio.Future[int] | concurrent.futures.Future[int]
    loop: asyncio.AbstractEventLoop | None = None


class Journal:
    def __init__(self, db: Database, on_commit: threading.Event | None = None) -> None:
        self.db = db
        self.on_commit = on_commit or threading.Event()
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._started = False
        self.last_append = 0.0  # time.monotonic() of the latest append
        self._insert = _SqliteInsert(db) if db.is_sqlite else functools.partial(_insert_core, db)

    def receiving(self, window: float = 0.1) -> bool:
        """Whether payloads arrived in the last ``window`` seconds (a burst is under way)."""
        return time.monotonic() - self.last_append < window

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        """Commit what is queued, then stop the writer."""
        if self._started:
            self._queue.put(None)
            self._thread.join()
            self._started = False

    async def append(self, channel: str, raw: bytes, envelope: dict[str, Any]) -> int:
        """Return the journal id once the payload is durably committed; raise if it is not."""
        self.last_append = time.monotonic()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queue.put(_Entry(channel, raw, envelope, future, loop))
        return await future

    def append_sync(self, channel: str, raw: bytes, envelope: dict[str, Any]) -> int:
        """The same promise for a poller thread: block until committed, raise if it is not."""
        self.last_append = time.monotonic()
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._queue.put(_Entry(channel, raw, envelope, future))
        return future.result()

    def append_all(self, payloads: Iterable[tuple[str, bytes, dict[str, Any]]]) -> list[int]:
        """Many payloads from one thread (a file import): queued at once, so the writer commits
        them in batches; return their ids once every one is committed, raise if one is not."""
        futures: list[concurrent.futures.Future[int]] = []
        for channel, raw, envelope in payloads:
            future: concurrent.futures.Future[int] = concurrent.futures.Future()
            self._queue.put(_Entry(channel, raw, envelope, future))
            futures.append(future)
        return [future.result() for future in futures]

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    stopping = True
                    break
                batch.append(entry)
            self._commit(batch)

    def _commit(self, batch: list[_Entry]) -> None:
        try:
            now = utcnow()
            rows = [
                {
                    "channel": e.channel,
                    "raw": e.raw,
                    "envelope": e.envelope,
                    "received_at": now,
                    "next_attempt_at": now,
                    "status": JournalStatus.pending,
                    "attempts": 0,
                    "error": "",
                }
                for e in batch
            ]
            ids = self._insert(rows)
        except Exception as exc:  # the senders get a temporary failure and retry
            log.error("journal commit failed for a batch of %d: %s", len(batch), type(exc).__name__)
            _settle_all([(e, None, exc) for e in batch])
            return
        self.on_commit.set()
        _settle_all([(e, item_id, None) for e, item_id in zip(batch, ids, strict=True)])


Row = dict[str, Any]


def _insert_core(db: Database, rows: list[Row]) -> list[int]:
    """One multi-row INSERT … RETURNING on a Core connection: no ORM bookkeeping here."""
    returning = insert(JournalItem).returning(col(JournalItem.id), sort_by_parameter_order=True)
    with db.write_core() as conn:
        return [row[0] or 0 for row in conn.execute(returning, rows)]


class _SqliteInsert:
    """The same rows through the DB-API cursor, each value converted by its column's own
    SQLAlchemy type (bind processor), so that they are stored exactly as the ORM stores them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = JournalItem.__table__  # type: ignore[attr-defined]
        self.converters: dict[str, Callable[[Any], Any]] = {}

    def __call__(self, rows: list[Row]) -> list[int]:
        columns = list(rows[0])
        convert = [self._converter(name) for name in columns]
        sql = (
            f"INSERT INTO {self.table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) RETURNING id"
        )
        with self.db.write_dbapi() as cur:
            ids = []
            for row in rows:
                values = [f(row[name]) for name, f in zip(columns, convert, strict=True)]
                ids.append(cur.execute(sql, values).fetchone()[0])
            return ids

    def _converter(self, name: str) -> Callable[[Any], Any]:
        if name not in self.converters:
            dialect = self.db.engine.dialect
            process = self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            self.converters[name] = process or _same
        return self.converters[name]


def _same(value: Any) -> Any:
    return value


Outcome = tuple[_Entry, int | None, BaseException | None]


def _settle_all(outcomes: list[Outcome]) -> None:
    """Wake each event loop once per batch (each wake-up is a syscall), poller threads directly."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for outcome in outcomes:
        entry = outcome[0]
        if entry.loop is None:
            _settle(*outcome)
        else:
            by_loop.setdefault(entry.loop, []).append(outcome)
    for loop, mine in by_loop.items():
        loop.call_soon_threadsafe(_settle_many, mine)


def _settle_many(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        _settle(*outcome)


def _settle(entry: _Entry, value: int | None, exc: BaseException | None) -> None:
    if entry.future.done():  # the session went away while we were committing
        return
    if exc is not None:
        entry.future.set_exception(exc)
    else:
        entry.future.set_result(value or 0)
