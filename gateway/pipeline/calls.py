"""Telephony events on the call log (stub: being written)."""

from __future__ import annotations

from gateway.pipeline.context import Context


def record(ctx: Context) -> None:
    return None


def link(ctx: Context) -> None:
    return None
