"""Domain entities: citizens and their contact points, tickets, messages, agents, teams, audit.

Transport tables (journal, outbox, opt-outs, checkpoints) live in ``gateway.core.models``; both
share one metadata so a single Alembic history covers the whole schema.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, desc, text
from sqlmodel import Field, SQLModel

from gateway.core.clock import utcnow


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    waiting_citizen = "waiting_citizen"
    resolved = "resolved"
    closed = "closed"


# A ticket someone still has to work on.
OPEN_STATUSES = (TicketStatus.new, TicketStatus.open, TicketStatus.waiting_citizen)


class Direction(StrEnum):
    inbound = "in"
    outbound = "out"
    note = "note"


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=254)
    name: str = Field(max_length=200)
    role: str = Field(default=Role.agent, max_length=20)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    password_hash: str = ""
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class AgentToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None


class CitizenBase(SQLModel):
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    birth_name: str = Field(default="", max_length=100)
    display_name: str = Field(default="", max_length=200)
    birth_date: str = Field(default="", max_length=10)  # ISO date or ""
    address: str = Field(default="", max_length=300)
    postcode: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=100)


class Citizen(CitizenBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, unique=True, max_length=100)
    merged_into_id: int | None = Field(default=None, foreign_key="citizen.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class ContactPoint(SQLModel, table=True):
    """An address the citizen reaches us from: ``email``, ``phone`` (E.164) or ``handle``."""

    __table_args__ = (
        UniqueConstraint("citizen_id", "kind", "value"),
        Index("ix_contactpoint_kind_value", "kind", "value"),
    )
    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    kind: str = Field(max_length=20)
    value: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow)


class CitizenMerge(SQLModel, table=True):
    """One merge of ``merged_id`` into ``survivor_id``, with what moved, so it can be undone."""

    id: int | None = Field(default=None, primary_key=True)
    survivor_id: int = Field(foreign_key="citizen.id", index=True)
    merged_id: int = Field(foreign_key="citizen.id", index=True)
    ticket_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contact_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    actor_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    at: datetime = Field(default_factory=utcnow)
    undone_at: datetime | None = None


# The queue in queue_order() (inbox/services.py), for the open tickets (queue page) and for the
# unassigned ones an agent may claim: PostgreSQL reads the first rows in order and stops
# (ascending sorts NULLs last there, as the queue does). bench/inbox.py measures both.
# Created on PostgreSQL only (migration 0005): SQLite cannot sort NULLs last from an index.
_OPEN = text("status IN ('new', 'open', 'waiting_citizen')")
_CLAIMABLE = text("assignee_id IS NULL AND status IN ('new', 'open')")


class Ticket(SQLModel, table=True):
    __table_args__ = (
        # Covering indexes for SQLite (migration 0006), which sorts from them without reading
        # the table: the queue page by status, the claim (and "mine") by assignee.
        Index("ix_ticket_status_queue", "status", "priority", "due_at", "id"),
        Index("ix_ticket_claim", "assignee_id", "status", "priority", "due_at", "id", "team_id"),
        Index(
            "ix_ticket_open_queue",
            desc("priority"),
            "due_at",
            "id",
            postgresql_where=_OPEN,
        ),
        Index(
            "ix_ticket_claimable",
            desc("priority"),
            "due_at",
            "id",
            postgresql_where=_CLAIMABLE,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=20)
    citizen_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    subject: str = Field(default="", max_length=300)
    channel: str = Field(max_length=20, index=True)
    status: str = Field(default=TicketStatus.new, max_length=20)
    priority: int = 0
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="agent.id")
    needs_review: bool = False
    review_reason: str = Field(default="", max_length=300)
    # The matcher's view when the ticket was opened: its best score and, for a review, the
    # candidates an agent chooses from ([{"citizen_id": 3, "score": 0.82}, ...]).
    match_score: float | None = None
    match_candidates: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    related_ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    # Set by the routing stage from config/routing.toml ("etat-civil", "voirie", …; "" = none).
    category: str = Field(
        default="", max_length=50, index=True, sa_column_kwargs={"server_default": ""}
    )
    due_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # Indexed: the live inbox (server-sent events) asks what changed since a moment.
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    last_inbound_at: datetime | None = None
    first_response_at: datetime | None = None  # the first reply to the citizen (dashboard)


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    direction: str = Field(max_length=4)
    channel: str = Field(max_length=20)
    citizen_id: int | None = Field(default=None, foreign_key="citizen.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    # Channel-level identity: RFC 5322 Message-ID for mail, provider id elsewhere.
    external_id: str | None = Field(default=None, max_length=998, index=True)
    # channel + external id + sender: the same delivery twice is one message.
    dedupe_key: str | None = Field(default=None, unique=True, max_length=64)
    sender: str = Field(default="", max_length=254)
    sender_name: str = Field(default="", max_length=200)
    subject: str = Field(default="", max_length=998)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The same HTML with its remote (https) images, shown only when an agent asks.
    html_remote: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    quote_start: int | None = None
    journal_id: int | None = Field(default=None, foreign_key="journalitem.id")
    created_at: datetime = Field(default_factory=utcnow)
    # Outgoing messages: where delivery stands (queued, sent, delivered, failed, undelivered,
    # opted_out) and, when it failed for good, why, as the provider said it.
    delivery_status: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    delivery_error: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="", server_default="")
    )


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64, index=True)


class AuditEvent(SQLModel, table=True):
    """Who did what, when. ``detail`` carries ids and field names, never personal data."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    action: str = Field(max_length=50)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    citizen_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Call(SQLModel, table=True):
    """One telephone call, from the PBX's CTI events, Twilio Voice or an Asterisk CDR import.

    A call is on the citizen's timeline whether or not it became a ticket; a missed call or a
    voicemail makes a "call back" ticket, an answered call can be turned into one by an agent.
    """

    id: int | None = Field(default=None, primary_key=True)
    # Provider-qualified and unique: "cti:<callId>", "twilio:<CallSid>", "asterisk:<uniqueid>".
    call_key: str = Field(unique=True, max_length=200)
    direction: str = Field(default="in", max_length=3)  # "in" or "out"
    caller: str = Field(default="", max_length=64)  # E.164 when it could be read
    callee: str = Field(default="", max_length=64)
    agent_user: str = Field(default="", max_length=200)  # the PBX user who answered
    citizen_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    outcome: str = Field(default="ringing", max_length=20)  # ringing answered missed voicemail
    cause: str = Field(default="", max_length=50)
    started_at: datetime = Field(default_factory=utcnow, index=True)
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    recording_url: str = Field(default="", max_length=500)
