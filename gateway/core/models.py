"""Intake-side tables: the journal every inbound payload enters first, and the outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from gateway.core.clock import utcnow


class JournalStatus(StrEnum):
    pending = "pending"
    done = "done"
    duplicate = "duplicate"
    quarantined = "quarantined"  # cannot be parsed: waits for a supervisor
    failed = "failed"  # a stage kept failing: dead letter, raw payload kept


class JournalItem(SQLModel, table=True):
    __table_args__ = (
        Index("ix_journal_pending", "status", "next_attempt_at", "id"),
        Index("ix_journal_channel", "channel", "received_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    received_at: datetime = Field(default_factory=utcnow)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    envelope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=JournalStatus.pending, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    processed_at: datetime | None = None
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class OutboxItem(SQLModel, table=True):
    """An outgoing message, committed before it is sent and marked sent with the provider's id."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_recipient", "recipient", "kind", "created_at"),
        Index("ix_outbox_provider", "channel", "provider_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    kind: str = Field(max_length=10)  # "ack" or "reply"
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    recipient: str = Field(max_length=254)
    # What to say, not how the channel encodes it: the sender renders it at send time, outside
    # any database transaction (subject, body, message_id, in_reply_to, references, automatic).
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.pending, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    provider_id: str = Field(default="", max_length=998)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class OptOut(SQLModel, table=True):
    """A citizen asked not to be written to on this channel (SMS STOP); START lifts it."""

    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    address: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow)


class Checkpoint(SQLModel, table=True):
    """Where a poller stands (IMAP UIDVALIDITY + UID, X since_id, Telegram offset)."""

    name: str = Field(primary_key=True, max_length=100)
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class ChannelState(SQLModel, table=True):
    """A channel's health, shared by every process: last success, last error."""

    name: str = Field(primary_key=True, max_length=100)
    last_ok_at: datetime | None = None
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    last_error_at: datetime | None = None


Row = TypeVar("Row", JournalItem, OutboxItem)


def next_due(session: Session, model: type[Row], order: Any) -> Row | None:
    """Lock and return the first pending row whose time has come, skipping rows other workers
    hold (PostgreSQL); SQLite's single writer makes the lock implicit."""
    return session.exec(
        select(model)
        .where(model.status == "pending", model.next_attempt_at <= utcnow())
        .order_by(order)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
