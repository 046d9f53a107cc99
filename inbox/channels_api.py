"""Each channel's state: enabled, last message received, last error, backlog.

One function reads it from the database (shared by every process), for the API and for
``/metrics`` alike. A channel is in error when its last error is newer than its last success.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import Session, select

from channels import CHANNELS
from gateway.core.models import ChannelState, JournalItem, JournalStatus, OutboxItem, OutboxStatus
from gateway.core.settings import Settings
from inbox.deps import CurrentAgent, Db, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["channels"])


def _counts(session: Session, model: Any, status: str) -> dict[str, int]:
    rows = session.exec(
        select(model.channel, func.count()).where(model.status == status).group_by(model.channel)
    ).all()
    return {channel: count for channel, count in rows}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _error_time(state: ChannelState) -> datetime:
    return state.last_error_at or datetime.min.replace(tzinfo=UTC)


def channel_report(session: Session, settings: Settings) -> list[dict[str, Any]]:
    received = dict(
        session.exec(
            select(JournalItem.channel, func.max(JournalItem.received_at)).group_by(
                JournalItem.channel
            )
        ).all()
    )
    journal = _counts(session, JournalItem, JournalStatus.pending)
    outbox = _counts(session, OutboxItem, OutboxStatus.pending)
    failed = _counts(session, OutboxItem, OutboxStatus.failed)
    states = {s.name: s for s in session.exec(select(ChannelState)).all()}
    report = []
    for name, channel in CHANNELS.items():
        names = list(dict.fromkeys([name, *(channel.states(settings) if channel.states else [])]))
        mine = [states[n] for n in names if n in states]
        parts = [
            {
                "name": s.name,
                "ok": s.last_error_at is None
                or (s.last_ok_at is not None and s.last_ok_at >= s.last_error_at),
                "last_ok_at": _iso(s.last_ok_at),
                "last_error": s.last_error,
                "last_error_at": _iso(s.last_error_at),
            }
            for s in mine
        ]
        errors = sorted((s for s in mine if s.last_error_at), key=_error_time)
        report.append(
            {
                "name": name,
                "enabled": channel.enabled(settings),
                "ok": all(p["ok"] for p in parts),
                "last_received_at": _iso(received.get(name)),
                "last_error": errors[-1].last_error if errors else "",
                "last_error_at": _iso(errors[-1].last_error_at) if errors else None,
                "backlog": {"journal": journal.get(name, 0), "outbox": outbox.get(name, 0)},
                "outbox_failed": failed.get(name, 0),
                "parts": parts,
            }
        )
    return report


@router.get("/channels")
def list_channels(
    agent: CurrentAgent, db: Db, settings: SettingsDep
) -> dict[str, list[dict[str, Any]]]:
    """Every channel's state; no personal data, so any agent may read it."""
    with db.read() as session:
        return {"channels": channel_report(session, settings)}
