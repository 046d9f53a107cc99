"""Stage: record the ticket a call became (or joined) on the call log's row."""

from __future__ import annotations

from sqlmodel import select

from gateway.pipeline.context import Context
from inbox.models import Call


def run(ctx: Context) -> None:
    """Record the ticket on the call, and the citizen the ticket found if the call had none."""
    event = ctx.msg.call
    if event is None or ctx.ticket is None:
        return
    call = ctx.session.exec(select(Call).where(Call.call_key == str(event["key"])[:200])).first()
    if call is None:
        return
    if call.ticket_id is None:
        call.ticket_id = ctx.ticket.id
    if call.citizen_id is None:
        call.citizen_id = ctx.ticket.citizen_id
    ctx.session.add(call)
