"""The call log in the API: a citizen's or a ticket's calls, and turning a call into a ticket.

Every call is on the log, whether or not it made a ticket. An agent who answered a call turns
it into a ticket with a note: the ticket is hers, for the call's citizen, on the phone channel,
with the call as the citizen's message (so that a reply can go back by SMS) and her note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlmodel import col, select

from channels.phone.common import ANONYMOUS_SENDER, PARIS, display
from gateway.core.clock import utcnow
from inbox import services
from inbox.deps import CurrentAgent, Db, SettingsDep
from inbox.models import Call, Message, Ticket, TicketStatus
from inbox.schemas import TicketPublic
from inbox.tickets import open_ticket

router = APIRouter(prefix="/api/v1", tags=["calls"])


class CallPublic(BaseModel):
    id: int
    call_key: str
    direction: str
    caller: str
    callee: str
    agent_user: str
    citizen_id: int | None
    ticket_id: int | None
    outcome: str
    cause: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    recording_url: str


class CallPage(BaseModel):
    items: list[CallPublic]


class CallTicketIn(BaseModel):
    note: str = Field(min_length=1, max_length=20_000)


@router.get("/calls", response_model=CallPage)
def list_calls(
    agent: CurrentAgent,
    db: Db,
    citizen_id: int | None = None,
    ticket_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CallPage:
    """The call log, newest first: a citizen's timeline, a ticket's calls, or every call."""
    query = select(Call).order_by(col(Call.started_at).desc(), col(Call.id).desc()).limit(limit)
    if citizen_id is not None:
        query = query.where(Call.citizen_id == citizen_id)
    if ticket_id is not None:
        query = query.where(Call.ticket_id == ticket_id)
    with db.read() as session:
        calls = session.exec(query).all()
    return CallPage(items=[CallPublic.model_validate(c, from_attributes=True) for c in calls])


def _summary(call: Call, lang: str) -> tuple[str, str, str]:
    """Subject, text and citizen's number of the message that stands for the call."""
    number = call.caller if call.direction == "in" else call.callee
    local = call.started_at.astimezone(PARIS)
    when = (
        f"{local:%d/%m/%Y} à {local:%H:%M}" if lang == "fr" else f"{local:%d/%m/%Y} {local:%H:%M}"
    )
    who = display(number if number.startswith("+") else None, lang)
    if lang == "fr":
        subject = f"Appel du {when}"
        verb = "reçu de" if call.direction == "in" else "passé à"
        text = f"Appel {verb} {who} le {when}"
        if call.duration_seconds is not None:
            text += f" (durée : {call.duration_seconds} s)"
    else:
        subject = f"Call on {when}"
        text = f"Call {'from' if call.direction == 'in' else 'to'} {who} on {when}"
        if call.duration_seconds is not None:
            text += f" (length: {call.duration_seconds} s)"
    if call.agent_user:
        text += f", {'répondu par' if lang == 'fr' else 'answered by'} {call.agent_user}"
    return subject, text + ".", number if number.startswith("+") else ANONYMOUS_SENDER


@router.post("/calls/{call_id}/ticket", response_model=TicketPublic, status_code=201)
def call_ticket(
    call_id: int, body: CallTicketIn, agent: CurrentAgent, db: Db, settings: SettingsDep
) -> Ticket:
    """Turn a call into a ticket assigned to the agent, with her note; 409 if it has one."""
    with db.write() as session:
        call = session.get(Call, call_id)
        if call is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such call")
        if call.ticket_id is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, "This call already has a ticket")
        subject, text, sender = _summary(call, settings.language)
        now = utcnow()
        ticket = open_ticket(
            session,
            settings,
            subject=subject,
            channel="phone",
            now=now,
            citizen_id=call.citizen_id,
            team_id=agent.team_id,
            status=TicketStatus.open,
            assignee_id=agent.id,
            last_inbound_at=now,
        )
        session.flush()
        # Two agents at once: the first one's ticket wins, the other's transaction rolls back.
        taken = session.execute(
            update(Call)
            .where(col(Call.id) == call.id, col(Call.ticket_id).is_(None))
            .values(ticket_id=ticket.id)
        )
        if getattr(taken, "rowcount", 1) != 1:
            raise HTTPException(status.HTTP_409_CONFLICT, "This call already has a ticket")
        session.add(
            Message(
                ticket_id=ticket.id or 0,
                direction="in",
                channel="phone",
                citizen_id=call.citizen_id,
                external_id=f"{call.call_key}:ticket",
                sender=sender,
                subject=subject,
                text=text,
                created_at=now,
            )
        )
        services.audit(session, agent, "call.ticket", ticket, call_id=call.id)
        services.add_note(session, agent, ticket, body.note)
    return ticket
