"""``guichet calls import``: an Asterisk CDR file into the intake journal, through its one door.

Reading the file is the phone channel's (``channels.phone.asterisk``); this shell skips the
calls imported before and hands the others to the journal writer, which commits them in
batches. ``guichet serve`` then processes them as any other journaled payload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import col, select

from channels.phone.asterisk import payloads
from channels.phone.common import NAME
from gateway.core.db import Database
from gateway.core.models import JournalItem, JournalStatus
from gateway.journal import Journal
from inbox.models import Call

BATCH = 500


def _known(db: Database, keys: list[str]) -> set[str]:
    """Keys already on the call log, or journaled and waiting for a worker."""
    found: set[str] = set()
    with db.read() as session:
        for start in range(0, len(keys), BATCH):
            chunk = keys[start : start + BATCH]
            found |= set(session.exec(select(Call.call_key).where(col(Call.call_key).in_(chunk))))
        pending = session.exec(
            select(JournalItem.envelope).where(
                JournalItem.channel == NAME, JournalItem.status == JournalStatus.pending
            )
        ).all()
    found |= {e.get("key", "") for e in pending if e.get("source") == "asterisk"}
    return found


def journal_calls(
    db: Database,
    path: Path,
    calls: dict[str, tuple[int, list[list[str]]]],
    envelope: dict[str, Any],
    progress: Any = None,
) -> tuple[int, int]:
    """Journal the calls not imported before; return (journaled, already imported).
    ``progress.update(n)`` is called after each ``BATCH`` of calls."""
    keys = list(calls)
    known = _known(db, keys)
    journal = Journal(db)
    journal.start()
    try:
        for start in range(0, len(keys), BATCH):
            batch = {k: calls[k] for k in keys[start : start + BATCH] if k not in known}
            journal.append_all(payloads(path, batch, envelope))
            if progress is not None:
                progress.update(len(keys[start : start + BATCH]))
    finally:
        journal.stop()
    fresh = sum(1 for k in keys if k not in known)
    return fresh, len(keys) - fresh
