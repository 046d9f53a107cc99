"""Stage: commands rather than requests. SMS STOP / START, Telegram /start.

They are handled here and open no ticket: an opt-out is recorded (the outbox then refuses to
write to that address on that channel) or lifted, and /start gets a short greeting.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col

from gateway.core import i18n
from gateway.core.models import OptOut
from gateway.pipeline.context import Context
from inbox.models import AuditEvent
from inbox.outbox import enqueue, opted_out, sent_lately


def _greet(ctx: Context) -> None:
    recent = sent_lately(ctx.session, ctx.msg.sender, "greeting")
    if recent:  # one an hour: also absorbs a /start the provider delivers twice
        return
    body = i18n.text("greeting", ctx.settings.language, authority=ctx.settings.authority_name)
    content = {"body": body, "automatic": True, "in_reply_to": ctx.msg.message_id}
    enqueue(
        ctx.session,
        ctx.settings,
        None,
        channel=ctx.msg.channel,
        kind="greeting",
        to=ctx.msg.sender,
        content=content,
    )


def run(ctx: Context) -> None:
    command, channel, address = ctx.msg.control, ctx.msg.channel, ctx.msg.sender
    if command is None:
        return
    if command == "opt_out" and not opted_out(ctx.session, channel, address):
        ctx.session.add(OptOut(channel=channel, address=address))
    elif command == "opt_in":
        ctx.session.execute(
            delete(OptOut).where(col(OptOut.channel) == channel, col(OptOut.address) == address)
        )
    elif command == "start":
        _greet(ctx)
    # The audit trail says that it happened, not who: the address stays out of it.
    ctx.session.add(AuditEvent(action=f"channel.{command}", detail={"channel": channel}))
    ctx.stopped = ctx.finished = True
