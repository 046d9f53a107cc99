"""Stage 5: acknowledge a new request on its channel, with its reference and answer delay.

Never to a robot (the loop guard), never to ourselves, and at most N per sender per hour: an
autoresponder that slips through the header checks still cannot start a storm.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from gateway.models import OutboxItem
from gateway.outbox import enqueue_email
from gateway.pipeline.context import Context
from gateway.settings import Settings
from inbox import i18n
from inbox.models import utcnow


def refusal(ctx: Context) -> str | None:
    """Why no acknowledgement goes out for this message, or None if one should."""
    s = ctx.settings
    if not s.ack.enabled:
        return "disabled"
    if not ctx.ticket_created or ctx.ticket is None:
        return "not_new"
    if ctx.msg.automated:
        return ctx.msg.automated
    if is_own_address(s, ctx.msg.sender):
        return "own_address"
    since = utcnow() - timedelta(hours=1)
    recent = ctx.session.exec(
        select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.recipient == ctx.msg.sender, OutboxItem.kind == "ack")
        .where(OutboxItem.created_at >= since)
    ).one()
    if recent >= s.ack.max_per_sender_per_hour:
        return "rate_capped"
    return None


def is_own_address(settings: Settings, address: str) -> bool:
    domain = address.rpartition("@")[2]
    return address == settings.smtp.from_address.lower() or domain in settings.smtp.domains


def run(ctx: Context) -> None:
    if ctx.msg.channel != "email" or ctx.ticket is None or refusal(ctx) is not None:
        return
    s, ticket, lang = ctx.settings, ctx.ticket, ctx.settings.language
    subject = ctx.msg.subject.strip() or ticket.subject
    body = i18n.render(
        "ack",
        lang,
        subject=subject,
        reference=ticket.reference,
        delay=str(s.ack.answer_delay_days),
        authority=s.authority_name,
    )
    enqueue_email(
        ctx.session,
        s,
        ticket,
        kind="ack",
        to=ctx.msg.sender,
        subject=i18n.text("ack_subject", lang, reference=ticket.reference, subject=subject),
        body=body,
        in_reply_to=ctx.msg.message_id,
        references=ctx.msg.references,
    )
