"""Commands rather than requests (stub: being written)."""

from __future__ import annotations

from gateway.pipeline.context import Context


def run(ctx: Context) -> None:
    return None
