"""What the stages share while one journal item goes through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from channels.base import Attachment, InboundMessage
from gateway.core.blobs import BlobStore
from gateway.core.models import JournalItem
from gateway.core.settings import Settings
from inbox.models import Citizen, Message, Ticket
from inbox.registry import CitizenRegistry


@dataclass
class Context:
    session: Session
    settings: Settings
    blobs: BlobStore
    item: JournalItem
    msg: InboundMessage
    registry: CitizenRegistry
    dedupe_key: str = ""
    stopped: bool = False  # set by a stage that finished the item early (a duplicate)
    finished: bool = False  # with stopped: handled, not a duplicate (a call event, an opt-out)
    # The sender cannot be known (a withheld number): no conversation to join, nobody to match
    # or to acknowledge; the ticket goes to review.
    unidentified: bool = False
    claimed_ticket: Ticket | None = None  # the ticket the message says it belongs to
    claimed_by: str = ""  # "references", "reference" or "conversation"
    citizen: Citizen | None = None
    citizen_changed: bool = False  # created, or a contact point added: re-index after commit
    match_score: float | None = None
    citizen_candidates: list[dict[str, Any]] = field(default_factory=list)
    ticket: Ticket | None = None
    ticket_created: bool = False
    message: Message | None = None
    review_reasons: list[str] = field(default_factory=list)
    # Files the provider holds, downloaded ahead of the transaction by the worker (url → file).
    prefetched: dict[str, Attachment] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)  # the message's files, all told
    media_notes: list[str] = field(default_factory=list)  # files we refused or could not get
