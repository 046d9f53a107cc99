"""What the API returns and accepts. Internal columns (dedupe keys, hashes) stay inside."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from inbox.models import TicketStatus


class CitizenSummary(BaseModel):
    id: int
    display_name: str
    first_name: str
    last_name: str
    contacts: list[str] = []


class TicketPublic(BaseModel):
    id: int
    reference: str
    subject: str
    channel: str
    status: str
    priority: int
    citizen_id: int | None
    team_id: int | None
    assignee_id: int | None
    needs_review: bool
    review_reason: str
    related_ticket_id: int | None
    category: str  # a key of config/routing.toml ("voirie"), "" when no rule matched
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    items: list[TicketPublic]
    next_cursor: str | None


class AttachmentPublic(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class MessagePublic(BaseModel):
    id: int
    direction: str
    channel: str
    sender: str
    agent_id: int | None
    subject: str
    text: str
    quote_start: int | None
    html: str | None
    created_at: datetime
    delivery: str | None = None  # pending, queued, sent, delivered, failed, undelivered, …
    delivery_error: str = ""
    attachments: list[AttachmentPublic] = []


class TicketDetail(TicketPublic):
    citizen: CitizenSummary | None
    messages: list[MessagePublic]


class AssignIn(BaseModel):
    agent_id: int | None = Field(description="Agent to assign, or null to put back in the queue")
    team_id: int | None = None


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)
    status: TicketStatus = TicketStatus.waiting_citizen
    # Both or neither: another channel and address known for the citizen (GET reply-options).
    channel: str | None = None
    to: str | None = None


class ReplyOption(BaseModel):
    channel: str
    to: str


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)


class StatusIn(BaseModel):
    status: TicketStatus


class AgentPublic(BaseModel):
    id: int
    email: str
    name: str
    role: str
    team_id: int | None


class QuarantinePublic(BaseModel):
    id: int
    channel: str
    status: str
    received_at: datetime
    size: int
    attempts: int
    error: str
    raw_url: str


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor_agent_id: int | None
    action: str
    ticket_id: int | None
    detail: dict[str, object]
