"""What agents do to citizen records: search, confirm an uncertain match, merge and undo a merge.

Every change bumps the citizens' ``updated_at`` (so every process re-indexes them within a
second) and writes an audit event.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import cast

from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from gateway.core.clock import utcnow
from inbox.contacts import add_contact, contact_kind
from inbox.errors import Conflict, Invalid
from inbox.models import (
    Agent,
    Citizen,
    CitizenBase,
    CitizenMerge,
    ContactPoint,
    Message,
    Ticket,
)
from inbox.register import RegisterRow
from inbox.registry import CitizenRegistry
from inbox.services import audit
from matching import Identity, parse_display_name

CITIZEN_REASONS = {"citizen_uncertain"}
_PHONE_LIKE = re.compile(r"^[\d\s.+()-]{6,}$")


def query_identity(q: str) -> Identity:
    """Read a search box the way an agent types into it: an address, a number or a name."""
    q = q.strip()
    if "@" in q:
        return Identity(email=q)
    if _PHONE_LIKE.match(q):
        return Identity(phone=q)
    return Identity(name=q)


def search(
    session: Session, registry: CitizenRegistry, q: str, limit: int = 20
) -> list[tuple[Citizen, float | None]]:
    """The matcher's candidates first, with their scores, then records whose names start
    with one of the words typed."""
    found: dict[int, float | None] = {
        cast(int, cid): score for cid, score in registry.match(query_identity(q)).candidates
    }
    words = [w for w in re.split(r"[\s,]+", q.strip()) if len(w) >= 2][:3]
    if words and "@" not in q and len(found) < limit:
        names = (Citizen.last_name, Citizen.first_name, Citizen.birth_name, Citizen.display_name)
        starts = [col(field).ilike(f"{word}%") for word in words for field in names]
        for cid in session.exec(
            select(Citizen.id)
            .where(or_(*starts), col(Citizen.merged_into_id).is_(None))
            .limit(limit)
        ).all():
            found.setdefault(cid or 0, None)
    rows = session.exec(select(Citizen).where(col(Citizen.id).in_(list(found)))).all()
    citizens = {c.id: c for c in rows}
    return [(citizens[cid], score) for cid, score in found.items() if cid in citizens][:limit]


def _first_inbound(session: Session, ticket: Ticket) -> Message | None:
    return session.exec(
        select(Message)
        .where(Message.ticket_id == ticket.id, Message.direction == "in")
        .order_by(col(Message.id))
    ).first()


def _touch(session: Session, *citizens: Citizen) -> None:
    now = utcnow()
    for citizen in citizens:
        citizen.updated_at = now
        session.add(citizen)


def confirm(session: Session, actor: Agent, ticket: Ticket, citizen_id: int | None) -> Citizen:
    """Settle an uncertain match: the ticket is this citizen's, or a new citizen's (None)."""
    first = _first_inbound(session, ticket)
    if citizen_id is None:
        name = first.sender_name if first else ""
        given, family = parse_display_name(name)
        citizen = Citizen(first_name=given, last_name=family, display_name=name)
        session.add(citizen)
        session.flush()
    else:
        found = session.get(Citizen, citizen_id)
        if found is None or found.merged_into_id is not None:
            raise Invalid("no such citizen")
        citizen = found
    if first is not None:
        add_contact(session, citizen, contact_kind(first.channel), first.sender)
    before = ticket.citizen_id
    ticket.citizen_id = citizen.id
    reasons = [r for r in ticket.review_reason.split(",") if r and r not in CITIZEN_REASONS]
    ticket.review_reason, ticket.needs_review = ",".join(reasons), bool(reasons)
    ticket.updated_at = utcnow()
    session.add(ticket)
    _touch(session, citizen)
    session.execute(
        update(Message)
        .where(col(Message.ticket_id) == ticket.id, col(Message.direction) == "in")
        .values(citizen_id=citizen.id)
    )
    audit(
        session,
        actor,
        "ticket.citizen_confirmed",
        ticket,
        before=before,
        after=citizen.id,
        created=citizen_id is None,
    )
    return citizen


def _move_tickets(session: Session, ticket_ids: list[int], to: int) -> None:
    if ticket_ids:
        session.execute(update(Ticket).where(col(Ticket.id).in_(ticket_ids)).values(citizen_id=to))
        session.execute(
            update(Message)
            .where(col(Message.ticket_id).in_(ticket_ids), col(Message.citizen_id).is_not(None))
            .values(citizen_id=to)
        )


def merge(session: Session, actor: Agent, survivor: Citizen, merged: Citizen) -> CitizenMerge:
    """Fold ``merged`` into ``survivor``: her tickets and contact points move, she is hidden."""
    if survivor.id == merged.id or survivor.merged_into_id or merged.merged_into_id:
        raise Conflict("these two records cannot be merged")
    ticket_ids = [
        t for t in session.exec(select(Ticket.id).where(Ticket.citizen_id == merged.id)) if t
    ]
    have = {
        (c.kind, c.value)
        for c in session.exec(select(ContactPoint).where(ContactPoint.citizen_id == survivor.id))
    }
    # A contact point the survivor already has stays on the hidden record (undo needs nothing).
    moving = [
        c
        for c in session.exec(select(ContactPoint).where(ContactPoint.citizen_id == merged.id))
        if (c.kind, c.value) not in have
    ]
    for contact in moving:
        contact.citizen_id = survivor.id or 0
        session.add(contact)
    _move_tickets(session, ticket_ids, survivor.id or 0)
    merged.merged_into_id = survivor.id
    _touch(session, survivor, merged)
    record = CitizenMerge(
        survivor_id=survivor.id or 0,
        merged_id=merged.id or 0,
        ticket_ids=ticket_ids,
        contact_ids=[c.id or 0 for c in moving],
        actor_agent_id=actor.id,
    )
    session.add(record)
    session.flush()
    audit(
        session,
        actor,
        "citizen.merged",
        None,
        merge_id=record.id,
        survivor_id=survivor.id,
        merged_id=merged.id,
        tickets=len(ticket_ids),
        contacts=len(moving),
    )
    return record


def undo_merge(session: Session, actor: Agent, record: CitizenMerge) -> None:
    """Put back what the merge moved; tickets re-filed elsewhere since then stay there."""
    if record.undone_at is not None:
        raise Conflict("this merge was already undone")
    survivor = session.get_one(Citizen, record.survivor_id)
    merged = session.get_one(Citizen, record.merged_id)
    still = [
        t
        for t in session.exec(
            select(Ticket.id).where(
                col(Ticket.id).in_(record.ticket_ids), Ticket.citizen_id == survivor.id
            )
        )
        if t
    ]
    _move_tickets(session, still, merged.id or 0)
    session.execute(
        update(ContactPoint)
        .where(
            col(ContactPoint.id).in_(record.contact_ids),
            col(ContactPoint.citizen_id) == survivor.id,
        )
        .values(citizen_id=merged.id)
    )
    merged.merged_into_id = None
    record.undone_at = utcnow()
    session.add(record)
    _touch(session, survivor, merged)
    audit(
        session,
        actor,
        "citizen.merge_undone",
        None,
        merge_id=record.id,
        survivor_id=survivor.id,
        merged_id=merged.id,
        tickets=len(still),
    )


EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "birth_name",
    "display_name",
    "birth_date",
    "address",
    "postcode",
    "city",
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OLDEST_BIRTH_YEAR = 1880


class InvalidEdit(ValueError):
    """Submitted values that cannot be stored; ``fields`` names them (never their values)."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


def _valid_birth_date(value: str, today: date) -> bool:
    if not value:
        return True
    if not _ISO_DATE.match(value):  # fromisoformat alone also takes "19840302"
        return False
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return False
    return born.year >= OLDEST_BIRTH_YEAR and born <= today


def edit_changes(
    current: CitizenBase, submitted: Mapping[str, str | None], *, today: date
) -> dict[str, str]:
    """The identity fields an edit form changes, with their new values (stripped).

    A field not submitted (None) stays as it is. Raises InvalidEdit, naming the fields, for a
    birth date that is not a real past ISO date (1984-03-02) or a value too long to store."""
    changes = {
        name: value.strip()
        for name in EDITABLE_FIELDS
        if (value := submitted.get(name)) is not None and value.strip() != getattr(current, name)
    }
    bad = [] if _valid_birth_date(changes.get("birth_date", ""), today) else ["birth_date"]
    try:
        CitizenBase.model_validate(changes)
    except ValidationError as exc:
        bad += [str(e["loc"][0]) for e in exc.errors() if e["loc"] and e["loc"][0] not in bad]
    if bad:
        raise InvalidEdit([name for name in EDITABLE_FIELDS if name in bad])
    return changes


def edit(session: Session, actor: Agent, citizen: Citizen, changes: Mapping[str, str]) -> None:
    """Apply ``edit_changes``' result; the audit event names the fields changed, not values."""
    if citizen.merged_into_id is not None:
        raise Conflict("this record was merged into another")
    if not changes:
        return
    for name, value in changes.items():
        setattr(citizen, name, value)
    _touch(session, citizen)
    audit(session, actor, "citizen.edited", citizen_id=citizen.id, fields=list(changes))


IDENTITY_FIELDS = (
    "first_name",
    "last_name",
    "birth_name",
    "birth_date",
    "address",
    "postcode",
    "city",
)


def upsert_register_rows(session: Session, rows: list[RegisterRow]) -> Counter[str]:
    """Create or update citizens by ``external_id`` (idempotent) and add their contact points;
    count what was ``created``, ``updated`` and ``unchanged``."""
    outcome: Counter[str] = Counter()
    wanted = [r.external_id for r in rows]
    existing = {
        c.external_id: c
        for c in session.exec(select(Citizen).where(col(Citizen.external_id).in_(wanted)))
    }
    for row in rows:
        fields = {f: getattr(row, f) for f in IDENTITY_FIELDS}
        citizen = existing.get(row.external_id)
        if citizen is None:
            display = f"{row.first_name} {row.last_name}".strip()
            citizen = Citizen(external_id=row.external_id, display_name=display, **fields)
            session.add(citizen)
            session.flush()
            existing[row.external_id] = citizen
            status = "created"
        else:
            status = (
                "updated"
                if any(getattr(citizen, f) != v for f, v in fields.items())
                else "unchanged"
            )
            for f, v in fields.items():
                setattr(citizen, f, v)
        for kind, values in (("email", row.emails), ("phone", row.phones)):
            for value in values:
                if add_contact(session, citizen, kind, value) and status == "unchanged":
                    status = "updated"
        if status != "unchanged":
            _touch(session, citizen)
        outcome[status] += 1
    return outcome
