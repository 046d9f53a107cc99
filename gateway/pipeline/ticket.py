"""Stage 4: the message joins its ticket or opens a new one.

A message joins the ticket it claims only when its sender is that ticket's citizen. Anyone else
quoting a reference (or replying to a forwarded mail) gets a ticket of their own, flagged for
review and linked to the one they named: nothing is silently appended to someone else's case.
"""

from __future__ import annotations

from sqlmodel import select

from gateway.core.clock import utcnow
from gateway.pipeline.context import Context
from inbox.models import Attachment, AuditEvent, Message, Ticket, TicketStatus
from inbox.teams import team_id
from inbox.tickets import open_ticket

REOPENS = {TicketStatus.waiting_citizen, TicketStatus.resolved}


def _may_join(ctx: Context, ticket: Ticket) -> bool:
    """The ticket's citizen, or the very address that already wrote into this ticket."""
    if ctx.citizen is not None and ticket.citizen_id == ctx.citizen.id:
        return True
    return (
        ctx.session.exec(
            select(Message.id).where(
                Message.ticket_id == ticket.id,
                Message.direction == "in",
                Message.channel == ctx.msg.channel,
                Message.sender == ctx.msg.sender,
            )
        ).first()
        is not None
    )


def _new_ticket(ctx: Context) -> Ticket:
    ctx.ticket_created = True
    return open_ticket(
        ctx.session,
        ctx.settings,
        subject=ctx.msg.subject or ctx.msg.text[:80],
        channel=ctx.msg.channel,
        now=utcnow(),
        citizen_id=ctx.citizen.id if ctx.citizen else None,
        team_id=team_id(ctx.session, ctx.msg.team),  # the mailbox's; the route stage may move it
        match_score=ctx.match_score,
        match_candidates=ctx.citizen_candidates,
    )


def _choose_ticket(ctx: Context) -> Ticket:
    claimed = ctx.claimed_ticket
    if claimed is not None and _may_join(ctx, claimed):
        if claimed.status == TicketStatus.closed:
            ticket = _new_ticket(ctx)  # a closed case stays closed; the follow-up points to it
            ticket.related_ticket_id = claimed.id
            return ticket
        if claimed.status in REOPENS:
            claimed.status = TicketStatus.open
        return claimed
    ticket = _new_ticket(ctx)
    if claimed is not None:
        ticket.related_ticket_id = claimed.id
        ctx.review_reasons.append("reference_other_sender")
    return ticket


def run(ctx: Context) -> None:
    ticket = _choose_ticket(ctx)
    if ctx.review_reasons:
        ticket.needs_review = True
        reasons = [r for r in ticket.review_reason.split(",") if r] + ctx.review_reasons
        ticket.review_reason = ",".join(dict.fromkeys(reasons))
    now = utcnow()
    ticket.updated_at = ticket.last_inbound_at = now
    ctx.session.add(ticket)
    ctx.session.flush()
    message = Message(
        ticket_id=ticket.id or 0,
        direction="in",
        channel=ctx.msg.channel,
        citizen_id=ctx.citizen.id if ctx.citizen else None,
        external_id=ctx.msg.message_id,
        dedupe_key=ctx.dedupe_key,
        sender=ctx.msg.sender,
        sender_name=ctx.msg.sender_name[:200],
        subject=ctx.msg.subject[:998],
        text="\n".join([ctx.msg.text, *ctx.media_notes]) if ctx.media_notes else ctx.msg.text,
        html=ctx.msg.html,
        html_remote=ctx.msg.html_remote,
        quote_start=ctx.msg.quote_start,
        journal_id=ctx.item.id,
        created_at=now,
    )
    ctx.session.add(message)
    ctx.session.flush()
    for att in ctx.attachments:
        digest = ctx.blobs.put(att.data)
        ctx.session.add(
            Attachment(
                message_id=message.id or 0,
                filename=att.filename,
                content_type=att.content_type,
                size=len(att.data),
                sha256=digest,
            )
        )
    action = "ticket.created" if ctx.ticket_created else "ticket.message_added"
    ctx.session.add(
        AuditEvent(
            action=action,
            ticket_id=ticket.id,
            citizen_id=ticket.citizen_id,
            detail={
                "message_id": message.id,
                "channel": ctx.msg.channel,
                "review": ctx.review_reasons,
            },
        )
    )
    ctx.ticket, ctx.message = ticket, message
