"""What agents do to tickets: claim, assign, reply, note, change status. Each writes an audit event.

Functions take an open write session and return what changed; routes stay thin and the CLI and
demo can call the same code.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from channels import CHANNELS
from channels.base import Reply
from gateway.core.clock import utcnow
from gateway.core.settings import Settings
from inbox.contacts import contact_kind
from inbox.errors import Conflict, Invalid
from inbox.models import (
    Agent,
    AuditEvent,
    ContactPoint,
    Message,
    Role,
    Team,
    Ticket,
    TicketStatus,
)
from inbox.outbox import enqueue, opted_out
from inbox.permissions import Access, access_for

CLAIMABLE = (TicketStatus.new, TicketStatus.open)
CLAIM_RETRIES = 10


def audit(
    session: Session,
    actor: Agent | None,
    action: str,
    ticket: Ticket | None = None,
    *,
    citizen_id: int | None = None,
    **detail: Any,
) -> None:
    """Record an action; ``citizen_id`` files an event about a record rather than a ticket."""
    session.add(
        AuditEvent(
            actor_agent_id=actor.id if actor else None,
            action=action,
            ticket_id=ticket.id if ticket else None,
            citizen_id=ticket.citizen_id if ticket else citizen_id,
            detail=detail,
        )
    )


def queue_order() -> tuple[Any, ...]:
    """Most urgent first: priority, then the earliest due date, then the oldest."""
    return (
        col(Ticket.priority).desc(),
        col(Ticket.due_at).asc().nulls_last(),
        col(Ticket.id).asc(),
    )


def claim_next(session: Session, access: Access) -> Ticket | None:
    """Assign the most urgent unassigned ticket this agent may see to them; never the same
    ticket to two agents.

    The conditional UPDATE (``assignee_id IS NULL``) is what makes the claim atomic on every
    database; on PostgreSQL, SKIP LOCKED also spares concurrent claimers from queueing on one row.
    """
    agent = access.agent
    for _ in range(CLAIM_RETRIES):
        query = (
            select(Ticket.id)
            .where(col(Ticket.assignee_id).is_(None), col(Ticket.status).in_(CLAIMABLE))
            .where(access.tickets())
            .order_by(*queue_order())
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if agent.team_id is not None and agent.role == Role.agent:
            query = query.where(or_(col(Ticket.team_id).is_(None), Ticket.team_id == agent.team_id))
        ticket_id = session.exec(query).first()
        if ticket_id is None:
            return None
        ticket = take(session, agent, ticket_id)
        if ticket is not None:
            return ticket
    return None


def take(session: Session, agent: Agent, ticket_id: int) -> Ticket | None:
    """Assign one unassigned ticket to ``agent``; None if someone else got it first."""
    result = session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket_id, col(Ticket.assignee_id).is_(None))
        .values(assignee_id=agent.id, status=TicketStatus.open, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    ticket = session.get_one(Ticket, ticket_id, populate_existing=True)
    audit(session, agent, "ticket.claimed", ticket)
    return ticket


def assign(
    session: Session,
    actor: Agent,
    ticket: Ticket,
    agent_id: int | None,
    team_id: int | None,
    confidential: list[str],
) -> None:
    """Give ``ticket`` to an agent (None: back to the queue) and optionally to another team.

    Refused if the agent could not see the ticket afterwards (a confidential team's file given
    to an agent outside that team)."""
    agent = session.get(Agent, agent_id) if agent_id is not None else None
    if agent_id is not None and (agent is None or not agent.active):
        raise Invalid("no such active agent")
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid("no such team")
    before = {"assignee_id": ticket.assignee_id, "team_id": ticket.team_id}
    ticket.assignee_id = agent.id if agent else None
    if team_id is not None:
        ticket.team_id = team_id
    if agent is not None and not access_for(session, agent, confidential).may_view(ticket):
        raise Invalid("this agent is not in the confidential team that holds this ticket")
    ticket.updated_at = utcnow()
    session.add(ticket)
    audit(
        session,
        actor,
        "ticket.assigned",
        ticket,
        before=before,
        after={"assignee_id": ticket.assignee_id, "team_id": ticket.team_id},
    )


def set_status(session: Session, actor: Agent, ticket: Ticket, status: TicketStatus) -> None:
    before = ticket.status
    ticket.status = status
    ticket.updated_at = utcnow()
    session.add(ticket)
    audit(session, actor, "ticket.status", ticket, before=before, after=status)


def add_note(session: Session, actor: Agent, ticket: Ticket, text: str) -> Message:
    note = Message(
        ticket_id=ticket.id or 0, direction="note", channel="internal", agent_id=actor.id, text=text
    )
    session.add(note)
    ticket.updated_at = utcnow()
    session.add(ticket)
    session.flush()
    audit(session, actor, "ticket.note", ticket, message_id=note.id)
    return note


def _last_inbound(session: Session, ticket: Ticket) -> Message | None:
    return session.exec(
        select(Message)
        .where(Message.ticket_id == ticket.id, Message.direction == "in")
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()


def _answered(session: Session, ticket: Ticket) -> Message:
    last = _last_inbound(session, ticket)
    if last is None:
        raise Conflict("this ticket has no message from the citizen to answer")
    return last


def _channel_for(settings: Settings, kind: str, address: str) -> str | None:
    """The channel that can carry a reply to ``address`` (a contact point's kind and value)."""
    for spec in CHANNELS.values():
        if spec.contact == kind and spec.send is not None and spec.can_reach(address):
            return spec.name if spec.enabled(settings) else None
    return None


def reply_options(session: Session, settings: Settings, ticket: Ticket) -> list[tuple[str, str]]:
    """Where a reply can go, best first: the channel and address of the message answered, then
    every other address known for the ticket's citizen on a channel that can send."""
    options: list[tuple[str, str]] = []
    last = _last_inbound(session, ticket)
    if last is not None:
        kind = contact_kind(last.channel)
        channel = _channel_for(settings, kind, last.sender)
        if channel:
            options.append((channel, last.sender))
    if ticket.citizen_id is not None:
        points = session.exec(
            select(ContactPoint)
            .where(ContactPoint.citizen_id == ticket.citizen_id)
            .order_by(col(ContactPoint.id))
        ).all()
        for point in points:
            channel = _channel_for(settings, point.kind, point.value)
            if channel and (channel, point.value) not in options:
                options.append((channel, point.value))
    return options


def reply(
    session: Session,
    settings: Settings,
    actor: Agent,
    ticket: Ticket,
    text: str,
    status: TicketStatus = TicketStatus.waiting_citizen,
    channel: str | None = None,
    to: str | None = None,
) -> Message:
    """Answer the citizen through the outbox: on the channel of her last message by default, or
    on another channel and address known for her, chosen by the agent."""
    answered = _answered(session, ticket)
    options = reply_options(session, settings, ticket)
    if channel is None and to is None:
        if not options:
            raise Conflict("no channel can carry a reply to this message")
        channel, to = options[0]
    elif (channel, to) not in options:
        raise Conflict("this channel and address are not known for this citizen")
    assert channel is not None and to is not None
    if opted_out(session, channel, to):
        raise Conflict("the citizen asked not to be written to on this channel")
    same_thread = answered.channel == channel and answered.sender == to
    answer = Reply(
        body=text,
        reference=ticket.reference,
        subject=(answered.subject if same_thread else "") or ticket.subject,
        in_reply_to=answered.external_id if same_thread else None,
        references=_thread_ids(session, ticket, channel),
    )
    out = enqueue(
        session,
        settings,
        ticket,
        channel=channel,
        kind="reply",
        to=to,
        content=CHANNELS[channel].reply(settings, answer),
        agent_id=actor.id,
    )
    assert out is not None
    if ticket.assignee_id is None:
        ticket.assignee_id = actor.id
    ticket.status = status
    ticket.updated_at = utcnow()
    ticket.first_response_at = ticket.first_response_at or ticket.updated_at
    session.add(ticket)
    audit(session, actor, "ticket.reply", ticket, message_id=out.id, channel=channel, status=status)
    return out


def _thread_ids(session: Session, ticket: Ticket, channel: str) -> tuple[str, ...]:
    """The provider ids of the ticket's messages on this channel, oldest first (e-mail's
    References, so that the citizen's mail client shows one thread)."""
    ids = session.exec(
        select(Message.external_id)
        .where(
            Message.ticket_id == ticket.id,
            Message.channel == channel,
            col(Message.external_id).is_not(None),
        )
        .order_by(col(Message.id))
    ).all()
    return tuple(i for i in ids if i)
