"""Stage 2: find the ticket a message says it belongs to.

In-Reply-To/References pointing at a message of ours wins; a reference in the subject comes
next. Whether the message may join that ticket is decided later, once the sender is known
(stage ``ticket``): a reference alone proves nothing about who writes.
"""

from __future__ import annotations

from sqlmodel import col, select

from gateway.pipeline.context import Context
from inbox.models import Message, Ticket
from inbox.references import find_in_text


def run(ctx: Context) -> None:
    if ctx.msg.references:
        hit = ctx.session.exec(
            select(Message.ticket_id)
            .where(col(Message.external_id).in_(ctx.msg.references))
            .order_by(col(Message.id).desc())
            .limit(1)
        ).first()
        if hit is not None:
            ctx.claimed_ticket = ctx.session.get(Ticket, hit)
            ctx.claimed_by = "references"
            return
    for reference in find_in_text(ctx.msg.subject):
        ticket = ctx.session.exec(select(Ticket).where(Ticket.reference == reference)).first()
        if ticket is not None:
            ctx.claimed_ticket = ticket
            ctx.claimed_by = "subject"
            return
