"""Channel health and poller checkpoints, kept in the database so every process shares them."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from gateway.core.clock import utcnow
from gateway.core.db import Database
from gateway.core.models import ChannelState, Checkpoint

# A channel that works reports it on every round; writing each one would be noise.
OK_WRITE_INTERVAL = timedelta(seconds=60)


class Reporter:
    """``report(name, error)``: record a channel's last success or its last error."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._last: dict[str, tuple[bool, Any]] = {}  # name -> (ok, when written)

    def __call__(self, name: str, error: str | None) -> None:
        now = utcnow()
        with self._lock:
            was_ok, written = self._last.get(name, (False, None))
            if error is None and was_ok and now - written < OK_WRITE_INTERVAL:
                return
            self._last[name] = (error is None, now)
        with self.db.write() as session:
            state = session.get(ChannelState, name) or ChannelState(name=name)
            if error is None:
                state.last_ok_at = now
            else:
                state.last_error, state.last_error_at = error[:2000], now
            session.add(state)


def load_checkpoint(db: Database, name: str) -> dict[str, Any] | None:
    with db.read() as session:
        row = session.get(Checkpoint, name)
        return dict(row.value) if row is not None else None


def save_checkpoint(db: Database, name: str, value: dict[str, Any]) -> None:
    with db.write() as session:
        row = session.get(Checkpoint, name) or Checkpoint(name=name)
        row.value, row.updated_at = dict(value), utcnow()
        session.add(row)
