"""The pipeline every journaled message goes through, declared once, in order.

Each stage is a small module with ``run(ctx)``. All stages of one journal item run in one
database transaction, so an item interrupted by a crash leaves no trace and simply runs again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.core import metrics
from gateway.pipeline import (
    acknowledge,
    call,
    control,
    dedupe,
    fetch_media,
    link_call,
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
    ("call", call.run),  # telephony events on the call log; only missed calls go on
    ("thread", thread.run),
    ("match_citizen", match_citizen.run),
    ("fetch_media", fetch_media.run),
    ("ticket", ticket.run),
    ("route", route.run),  # a new ticket's category, team and due date (config/routing.toml)
    ("link_call", link_call.run),
    ("acknowledge", acknowledge.run),
)


class StageFailed(Exception):
    """A stage raised: the item is retried, then dead-lettered, with the stage named."""

    def __init__(self, stage: str, error: Exception) -> None:
        super().__init__(f"{stage}: {type(error).__name__}")
        self.stage, self.error = stage, error


def run_stages(ctx: Context) -> None:
    for name, stage in STAGES:
        if ctx.stopped:
            return
        started = time.perf_counter()
        try:
            stage(ctx)
        except Exception as exc:
            raise StageFailed(name, exc) from exc
        metrics.STAGE_SECONDS.labels(name).observe(time.perf_counter() - started)
