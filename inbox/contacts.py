"""Contact points: how a channel's sender address sits on a citizen record, and who holds it.

Shared by the pipeline (matching a sender, recording a new address), the citizen pages
(editing, merging) and the reply composer (which channels reach her).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from channels import CHANNELS
from channels.base import InboundMessage
from gateway.core.clock import utcnow
from inbox.models import Citizen, ContactPoint
from matching import Identity


def contact_kind(channel: str) -> str:
    """What a channel's sender address is on a citizen record: e-mail, phone or handle."""
    spec = CHANNELS.get(channel)
    return spec.contact if spec is not None else "handle"


def contact_of(msg: InboundMessage) -> tuple[str, str]:
    """The kind and normalized value of the sender's address on this channel."""
    return contact_kind(msg.channel), msg.sender


def given(msg: InboundMessage) -> list[tuple[str, str]]:
    """Identifiers she gave about herself on top of her address ("phone:+33…" on Telegram)."""
    pairs = []
    for identifier in msg.identifiers:
        kind, _, value = identifier.partition(":")
        if kind in ("email", "phone") and value:
            pairs.append((kind, value))
    return pairs


def query_of(msg: InboundMessage) -> Identity:
    fields: dict[str, list[str]] = {}
    for kind, value in [contact_of(msg), *given(msg)]:
        fields.setdefault(kind, []).append(value)
    return Identity(name=msg.sender_name, **fields)  # type: ignore[arg-type]


def holders(session: Session, kind: str, value: str) -> list[int]:
    return list(
        session.exec(
            select(ContactPoint.citizen_id)
            .join(Citizen, col(Citizen.id) == ContactPoint.citizen_id)
            .where(ContactPoint.kind == kind, ContactPoint.value == value)
            .where(col(Citizen.merged_into_id).is_(None))
            .distinct()
        ).all()
    )


def add_contact(session: Session, citizen: Citizen, kind: str, value: str) -> bool:
    """Record ``value`` on the citizen's record if it is new there; return whether it was."""
    cid = citizen.id or 0
    if session.exec(
        select(ContactPoint.id).where(
            ContactPoint.citizen_id == cid, ContactPoint.kind == kind, ContactPoint.value == value
        )
    ).first():
        return False
    session.add(ContactPoint(citizen_id=cid, kind=kind, value=value))
    citizen.updated_at = utcnow()  # other processes re-index her within a second
    session.add(citizen)
    return True
