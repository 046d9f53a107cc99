"""The intake journal: group commit returns each sender the id of its own payload."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC
from pathlib import Path

from gateway import migrate
from gateway.core.clock import utcnow
from gateway.core.db import Database
from gateway.core.models import JournalItem, JournalStatus
from gateway.journal import Journal, _insert_core, _SqliteInsert
from gateway.worker import yielding


def test_concurrent_appends_get_their_own_ids(db: Database) -> None:
    journal = Journal(db)
    journal.start()

    async def main() -> list[int]:
        payloads = [f"message {n}".encode() for n in range(300)]
        return await asyncio.gather(
            *(journal.append("email", p, {"n": i}) for i, p in enumerate(payloads))
        )

    ids = asyncio.run(main())
    journal.stop()
    assert len(set(ids)) == 300
    with db.read() as s:
        for n, item_id in enumerate(ids):
            item = s.get_one(JournalItem, item_id)
            assert item.raw == f"message {n}".encode() and item.envelope == {"n": n}
            assert item.status == "pending"
    assert journal.receiving(window=60)


def test_pipeline_gives_way_during_a_burst(db: Database) -> None:
    journal = Journal(db)

    def step() -> bool:
        time.sleep(0.01)
        return True

    polite = yielding(step, journal, share=0.2)
    started = time.monotonic()
    polite()
    assert time.monotonic() - started < 0.03  # no burst: full speed
    journal.last_append = time.monotonic()
    started = time.monotonic()
    polite()
    assert time.monotonic() - started >= 0.045  # burst: 10 ms of work, then 40 ms for intake


def test_sqlite_fast_path_stores_exactly_what_sqlalchemy_stores(tmp_path: Path) -> None:
    """The journal writer bypasses SQLAlchemy on SQLite: every column must read back the same,
    down to the stored text (dates compared as strings by the workers' queries). SQLite only,
    whatever database the suite runs on: PostgreSQL's writer is the Core path itself."""
    db = Database(f"sqlite:///{tmp_path / 'journal.db'}")
    migrate.upgrade(db.engine)
    now = utcnow()
    row = {
        "channel": "sms",
        "raw": b"\x00\xff\r\nBody=Zo%C3%A9",
        "envelope": {"lang": "fr", "to": ["mairie@exemple.fr"], "note": "Zoé 🙏"},
        "received_at": now,
        "next_attempt_at": now,
        "status": JournalStatus.pending,
        "attempts": 0,
        "error": "",
    }
    (core,) = _insert_core(db, [row])
    (fast,) = _SqliteInsert(db)([row])
    columns = ", ".join(row)
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql(f"SELECT {columns} FROM journalitem ORDER BY id").all()
    assert (core, fast) == (1, 2) and stored[0] == stored[1]
    with db.read() as s:
        item = s.get_one(JournalItem, fast)
    assert item.envelope == row["envelope"] and item.raw == row["raw"]
    assert item.received_at.replace(tzinfo=UTC) == now
