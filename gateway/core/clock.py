"""The one clock: aware UTC datetimes everywhere, so no naive time is ever compared."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every one we store is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
