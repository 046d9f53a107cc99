"""The one clock: aware UTC datetimes everywhere, so no naive time is ever compared."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
