"""Opening a ticket: the one place a Ticket row is made, for the pipeline and for agents alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from gateway.core.settings import Settings
from inbox import routing
from inbox.models import Ticket
from inbox.references import new_reference


def open_ticket(
    session: Session,
    settings: Settings,
    *,
    subject: str,
    channel: str,
    now: datetime,
    citizen_id: int | None = None,
    team_id: int | None = None,
    **fields: Any,
) -> Ticket:
    """A new ticket with a fresh reference, due by the default delay in working hours until
    the route stage knows its category: never a ticket without a due date.

    A reference collision (1 in 2.7e10 per pair) fails the unique index at flush: the caller's
    transaction is retried with a fresh draw."""
    ticket = Ticket(
        reference=new_reference(),
        citizen_id=citizen_id,
        team_id=team_id,
        subject=subject.strip()[:300],
        channel=channel,
        due_at=routing.of(settings).due_at(now, None),
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(ticket)
    return ticket
