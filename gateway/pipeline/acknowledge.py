"""Stage: acknowledge a new request, with its reference and answer delay, as its channel words it.

Never to a robot (the loop guard), never to ourselves, never to an address that opted out, and
at most N per sender per hour: an autoresponder that slips through the checks still cannot
start a storm. Each channel declares how its requests are acknowledged
(``Channel.acknowledgement``: one GSM-7 segment for an SMS, only an invitation to write
privately for a public X mention) and on which channel (``answered_on``: a missed call by SMS,
when the number is a mobile and SMS is set up).
"""

from __future__ import annotations

from channels import CHANNELS
from channels.base import Channel, Receipt
from gateway.pipeline.context import Context
from inbox.outbox import enqueue, opted_out, sent_lately


def route(ctx: Context) -> Channel | None:
    """The channel the acknowledgement goes out on, or None if none can carry it."""
    origin = CHANNELS[ctx.msg.channel]
    target = CHANNELS.get(origin.answered_on or origin.name)
    if origin.acknowledgement is None or target is None or target.send is None:
        return None
    if not target.enabled(ctx.settings):
        return None
    if target is not origin and not target.can_reach(ctx.msg.sender):
        return None  # a landline cannot read an SMS
    return target


def refusal(ctx: Context) -> str | None:
    """Why no acknowledgement goes out for this message, or None if one should."""
    s = ctx.settings
    if not s.ack.enabled:
        return "disabled"
    if not ctx.ticket_created or ctx.ticket is None:
        return "not_new"
    if ctx.msg.automated:
        return ctx.msg.automated
    if ctx.unidentified:
        return "unidentified"
    if CHANNELS[ctx.msg.channel].is_ours(s, ctx.msg.sender):
        return "own_address"
    target = route(ctx)
    if target is None:
        return "no_channel"
    if opted_out(ctx.session, target.name, ctx.msg.sender):
        return "opted_out"
    if sent_lately(ctx.session, ctx.msg.sender, "ack") >= s.ack.max_per_sender_per_hour:
        return "rate_capped"
    return None


def run(ctx: Context) -> None:
    ticket, target = ctx.ticket, route(ctx)
    if ticket is None or target is None or refusal(ctx) is not None:
        return
    word = CHANNELS[ctx.msg.channel].acknowledgement
    assert word is not None  # route() found none otherwise
    content = word(ctx.settings, ctx.msg, Receipt(ticket.reference, ticket.subject))
    enqueue(
        ctx.session,
        ctx.settings,
        ticket,
        channel=target.name,
        kind="ack",
        to=ctx.msg.sender,
        content={**content, "automatic": True},
    )
