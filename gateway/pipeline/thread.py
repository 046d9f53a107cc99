"""Stage 2: find the ticket a message says it belongs to.

A reply pointing at a message of ours wins (In-Reply-To/References, a Telegram reply); a
reference quoted in the subject comes next (in the text too, on conversational channels, which
have no subject). On conversational channels (``Channel.conversational``: SMS, calls, Telegram,
X) a message with neither continues the sender's open conversation: "merci" after an answer
must not open a new case. Whether the message may
join that ticket is decided later, once the sender is known (stage ``ticket``): a reference
alone proves nothing about who writes.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from channels import CHANNELS
from gateway.core.clock import utcnow
from gateway.pipeline.context import Context
from inbox.models import Message, Ticket, TicketStatus
from inbox.references import find_in_text

CONVERSATION_WINDOW = timedelta(days=14)


def _by_references(ctx: Context) -> Ticket | None:
    if not ctx.msg.references:
        return None
    hit = ctx.session.exec(
        select(Message.ticket_id)
        .where(col(Message.external_id).in_(ctx.msg.references))
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()
    return ctx.session.get(Ticket, hit) if hit is not None else None


def _by_reference(ctx: Context) -> Ticket | None:
    # A mail's body quotes earlier mail, other tickets' references included: its subject only.
    conversational = CHANNELS[ctx.msg.channel].conversational
    text = f"{ctx.msg.subject}\n{ctx.msg.text}" if conversational else ctx.msg.subject
    for reference in find_in_text(text):
        ticket = ctx.session.exec(select(Ticket).where(Ticket.reference == reference)).first()
        if ticket is not None:
            return ticket
    return None


def _conversation(ctx: Context) -> Ticket | None:
    """The sender's most recent open ticket on this channel, if she wrote in it lately."""
    if not CHANNELS[ctx.msg.channel].conversational:
        return None
    hit = ctx.session.exec(
        select(Message.ticket_id)
        .join(Ticket, col(Ticket.id) == Message.ticket_id)
        .where(
            Message.channel == ctx.msg.channel,
            Message.sender == ctx.msg.sender,
            Message.direction == "in",
            col(Message.created_at) >= utcnow() - CONVERSATION_WINDOW,
            col(Ticket.status) != TicketStatus.closed,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()
    return ctx.session.get(Ticket, hit) if hit is not None else None


def run(ctx: Context) -> None:
    if ctx.unidentified:
        return  # a withheld number must not join another anonymous caller's conversation
    for how, find in (
        ("references", _by_references),
        ("reference", _by_reference),
        ("conversation", _conversation),
    ):
        ticket = find(ctx)
        if ticket is not None:
            ctx.claimed_ticket, ctx.claimed_by = ticket, how
            return
