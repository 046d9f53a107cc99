"""Stage 3: attach the message to a citizen record with the matcher.

``link`` attaches (and records a new contact point on her record), ``review`` leaves the ticket
without a citizen, flagged with its candidates for an agent to confirm, ``new`` creates a
citizen. The index may lag other processes by up to a second; before creating anyone we ask
the database who holds this sender's address, so a second message from a new sender never makes
a second citizen.
"""

from __future__ import annotations

from gateway.core.db import serialize_on
from gateway.pipeline.context import Context
from inbox.contacts import add_contact, contact_of, given, holders, query_of
from inbox.models import Citizen, ContactPoint
from matching import Match, parse_display_name


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
    if ctx.unidentified:
        return
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
        # What agrees and differs, field by field, as the matcher saw it: the review panel shows
        # it without matching again.
        ctx.citizen_candidates = [
            {
                "citizen_id": cid,
                "score": round(score, 4),
                "verdicts": match.explain(cid) if cid in match.levels else {},
            }
            for cid, score in match.candidates
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
