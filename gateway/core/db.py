"""Database engine and sessions, identical in use on SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a commit survives a power cut, and
write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that reads then
writes can fail at once with "database is locked" instead of waiting its turn.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlmodel import Session


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator chose."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The engine plus the two kinds of session the code needs."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self._writer_engine = self.engine.execution_options(sqlite_immediate=True)
        # SQLite admits one writer; its busy handler makes the others sleep and poll, which
        # starves short transactions (the journal's) behind long ones. Writers of this process
        # queue on a lock instead and are woken in turn; other processes still use busy_timeout.
        self._write_lock = threading.Lock() if self.is_sqlite else contextlib.nullcontext()

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        with self._write_lock, Session(self._writer_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def write_dbapi(self) -> Iterator[Any]:
        """SQLite only: a DB-API cursor in a ``BEGIN IMMEDIATE`` transaction, for the journal
        writer, whose SQLAlchemy statement handling held the GIL longer than the inserts."""
        assert self.is_sqlite, "write_dbapi is for SQLite; use write_core elsewhere"
        with self._write_lock:
            conn = self.engine.raw_connection()
            try:
                cur = conn.cursor()
                cur.execute("BEGIN IMMEDIATE")
                try:
                    yield cur
                    cur.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise
            finally:
                conn.close()  # back to the pool

    @contextlib.contextmanager
    def write_core(self) -> Iterator[Connection]:
        """A Core connection in a write transaction: for hot paths that need no ORM."""
        with self._write_lock, self._writer_engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def serialize_on(session: Session, key: str) -> None:
    """Hold a transaction-scoped lock on ``key``: concurrent workers handling the same key
    (one sender, one Message-ID) take turns. SQLite has one writer at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
