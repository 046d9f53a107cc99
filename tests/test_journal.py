"""The intake journal: group commit returns each sender the id of its own payload."""

from __future__ import annotations

import asyncio
import time

from gateway.db import Database
from gateway.journal import Journal
from gateway.models import JournalItem
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
