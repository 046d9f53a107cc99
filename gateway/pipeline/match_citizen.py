"""Stage 3: attach the message to a citizen record with the matcher.

``link`` attaches (and records a new contact point on her record), ``review`` leaves the ticket
without a citizen, flagged with its candidates for an agent to confirm, ``new`` creates a
citizen. The index may lag other processes by up to a second; before creating anyone we ask
the database who holds this sender's address, so a second message from a new sender never makes
a second citizen.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from channels.base import InboundMessage
from gateway.db import serialize_on
from gateway.pipeline.context import Context
from inbox.models import Citizen, ContactPoint, utcnow
from matching import Identity, Match, parse_display_name

CONTACT_KIND = {"email": "email", "sms": "phone", "phone": "phone"}


def contact_kind(channel: str) -> str:
    """What a channel's sender address is on a citizen record: e-mail, phone or handle."""
    return CONTACT_KIND.get(channel, "handle")


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


def _match(ctx: Context) -> Match:
    kind, value = contact_of(ctx.msg)
    query = query_of(ctx.msg)
    match = ctx.registry.match(query)
    if match.decision != "link":
        known = holders(ctx.session, kind, value)
        if known and not set(known) <= {cid for cid, _ in match.candidates}:
            ctx.registry.load(ctx.session, ids=known)  # created elsewhere a moment ago
            match = ctx.registry.match(query)
    return match


def run(ctx: Context) -> None:
    kind, value = contact_of(ctx.msg)
    # Two first messages from one new sender must not create two citizens.
    serialize_on(ctx.session, f"contact:{kind}:{value}")
    match = _match(ctx)
    ctx.match_score = match.score
    if match.decision == "link" and match.citizen_id is not None:
        citizen = ctx.session.get(Citizen, match.citizen_id)
        if citizen is not None and citizen.merged_into_id is None:
            ctx.citizen = citizen
            for k, v in [(kind, value), *given(ctx.msg)]:
                ctx.citizen_changed |= add_contact(ctx.session, citizen, k, v)
            return
        ctx.registry.forget(match.citizen_id)  # indexed but rolled back or merged away
    if match.decision == "review":
        ctx.citizen_candidates = [
            {"citizen_id": cid, "score": round(score, 4)} for cid, score in match.candidates
        ]
        ctx.review_reasons.append("citizen_uncertain")
        return
    first, last = parse_display_name(ctx.msg.sender_name)
    citizen = Citizen(first_name=first, last_name=last, display_name=ctx.msg.sender_name.strip())
    ctx.session.add(citizen)
    ctx.session.flush()
    for k, v in dict.fromkeys([(kind, value), *given(ctx.msg)]):
        ctx.session.add(ContactPoint(citizen_id=citizen.id or 0, kind=k, value=v))
    ctx.citizen = citizen
    ctx.citizen_changed = True
