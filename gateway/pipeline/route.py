"""Stage: a new ticket gets its category, its category's team and its due date.

The rules are ``config/routing.toml`` (``inbox.routing``). A rule's team wins over the team of
the mailbox the message came through; without a matching rule the mailbox's team stays and the
ticket is due after the default number of working hours. Replies joining a ticket change
nothing: an agent may have moved it since.
"""

from __future__ import annotations

from gateway.pipeline.context import Context
from inbox import routing
from inbox.models import AuditEvent
from inbox.teams import team_id


def run(ctx: Context) -> None:
    ticket = ctx.ticket
    if ticket is None or not ctx.ticket_created:
        return
    rules = routing.of(ctx.settings)
    msg = ctx.msg
    category = routing.decide(msg.subject, msg.text, msg.recipients, msg.channel, rules)
    if category is not None:
        ticket.category = category.key
        ticket.team_id = team_id(ctx.session, category.team)
        ctx.session.add(
            AuditEvent(
                action="ticket.routed",
                ticket_id=ticket.id,
                citizen_id=ticket.citizen_id,
                detail={"category": category.key},  # the key only: nothing the citizen wrote
            )
        )
    ticket.due_at = rules.due_at(ticket.created_at, category)
    ctx.session.add(ticket)
