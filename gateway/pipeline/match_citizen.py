"""Stage 3: attach the message to a citizen record.

For now an exact match on the normalized sender address (the fuzzy matcher replaces this stage).
An address shared by several citizens (a household) links nobody: the ticket goes to review.
"""

from __future__ import annotations

from sqlmodel import col, select

from gateway.db import serialize_on
from gateway.pipeline.context import Context
from inbox.models import Citizen, ContactPoint

CONTACT_KIND = {"email": "email"}


def split_name(display: str) -> tuple[str, str]:
    """Best guess of (first, last) from a display name such as "Marie Dupont" or "DUPONT Marie"."""
    parts = display.replace(",", " ").split()
    if len(parts) < 2:
        return "", display.strip()
    upper = [p for p in parts if p.isupper() and len(p) > 1]
    if upper and len(upper) < len(parts):
        return " ".join(p for p in parts if p not in upper), " ".join(upper).title()
    return " ".join(parts[:-1]), parts[-1]


def run(ctx: Context) -> None:
    kind = CONTACT_KIND.get(ctx.msg.channel, ctx.msg.channel)
    value = ctx.msg.sender
    # Two first messages from one new sender must not create two citizens.
    serialize_on(ctx.session, f"contact:{kind}:{value}")
    ids = list(
        ctx.session.exec(
            select(ContactPoint.citizen_id)
            .join(Citizen, col(Citizen.id) == ContactPoint.citizen_id)
            .where(ContactPoint.kind == kind, ContactPoint.value == value)
            .where(col(Citizen.merged_into_id).is_(None))
            .distinct()
        ).all()
    )
    if len(ids) == 1:
        ctx.citizen = ctx.session.get(Citizen, ids[0])
        return
    if len(ids) > 1:
        ctx.citizen_candidates = sorted(ids)
        ctx.review_reasons.append("sender_shared")
        return
    first, last = split_name(ctx.msg.sender_name)
    citizen = Citizen(first_name=first, last_name=last, display_name=ctx.msg.sender_name.strip())
    ctx.session.add(citizen)
    ctx.session.flush()
    ctx.session.add(ContactPoint(citizen_id=citizen.id or 0, kind=kind, value=value))
    ctx.citizen = citizen
