"""The pipeline every journaled message goes through, declared once, in order.

Each stage is a small module with ``run(ctx)``. All stages of one journal item run in one
database transaction, so an item interrupted by a crash leaves no trace and simply runs again.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.pipeline import (
    acknowledge,
    calls,
    control,
    dedupe,
    fetch_media,
    match_citizen,
    route,
    thread,
    ticket,
)
from gateway.pipeline.context import Context

Stage = Callable[[Context], None]

STAGES: tuple[tuple[str, Stage], ...] = (
    ("dedupe", dedupe.run),
    ("control", control.run),  # SMS STOP/START, Telegram /start: handled, no ticket
    ("call", calls.record),  # telephony events on the call log; only missed calls go on
    ("thread", thread.run),
    ("match_citizen", match_citizen.run),
    ("fetch_media", fetch_media.run),
    ("ticket", ticket.run),
    ("route", route.run),  # a new ticket's category, team and due date (config/routing.toml)
    ("link_call", calls.link),
    ("acknowledge", acknowledge.run),
)


def run_stages(ctx: Context) -> None:
    for _name, stage in STAGES:
        if ctx.stopped:
            return
        stage(ctx)
