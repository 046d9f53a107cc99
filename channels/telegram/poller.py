"""Polling mode (``telegram.mode = "polling"``): long polls of getUpdates.

The checkpoint ``telegram`` is ``{"offset": n}``; it moves past an update only once that update
is journaled (or skipped), so a crash or a refused ingest makes it come again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from telegram.error import TelegramError

from channels.base import Runtime
from channels.telegram.parse import NAME, skip_reason
from channels.telegram.send import client
from gateway.core.channel_state import load_checkpoint, save_checkpoint
from gateway.core.settings import Settings

log = logging.getLogger(__name__)


def _describe(exc: Exception) -> str:
    if isinstance(exc, TelegramError):  # Telegram's own description: no personal data
        return f"{type(exc).__name__}: {exc.message}"[:300]
    return type(exc).__name__


async def _get_updates(settings: Settings, offset: int, stop: Any, first: bool) -> list[Any]:
    """One long poll, abandoned as soon as ``stop`` is set (unconfirmed updates come again)."""
    timeout = min(max(settings.telegram.poll_timeout_seconds, 0), 50)
    async with client(settings, read_timeout=timeout + 10.0) as bot:
        if first:  # getUpdates answers 409 while a webhook is set
            await bot.delete_webhook()
        query = urlencode(
            {"offset": offset, "timeout": timeout, "allowed_updates": json.dumps(["message"])}
        )
        # The raw request, not bot.get_updates(): the journal keeps each update as Telegram
        # sent it, and one update the library cannot read must not block the others.
        call = asyncio.ensure_future(bot.request.post(f"{bot.base_url}/getUpdates?{query}"))
        while not call.done():
            await asyncio.wait({call}, timeout=0.2)
            if stop.is_set() and not call.done():
                call.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await call
                return []
        result = call.result()
    return result if isinstance(result, list) else []


def poll_once(runtime: Runtime, first: bool = False) -> int:
    """Take one batch of updates; journal each, then move the checkpoint past it."""
    offset = int((load_checkpoint(runtime.db, NAME) or {}).get("offset", 0))
    taken = 0
    for update in asyncio.run(_get_updates(runtime.settings, offset, runtime.stop, first)):
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or update_id < offset:
            log.warning("telegram update without a usable update_id skipped")
            continue
        raw = json.dumps(update).encode()  # ASCII: a lone surrogate cannot block the poller
        if skip_reason(update) is None:
            runtime.ingest(NAME, raw, {})
            taken += 1
        offset = update_id + 1
        save_checkpoint(runtime.db, NAME, {"offset": offset})
    return taken


def pollers(runtime: Runtime) -> list[Callable[[], None]]:
    settings = runtime.settings.telegram
    if not settings.enabled or settings.mode != "polling":
        return []

    def poll() -> None:
        failures, started = 0, False
        while not runtime.stop.is_set():
            try:
                poll_once(runtime, first=not started)
                started = True
            except Exception as exc:
                failures += 1
                log.warning("telegram poller: %s", type(exc).__name__)
                runtime.report(NAME, _describe(exc))
                runtime.stop.wait(min(2 ** (failures - 1), 60))
                continue
            failures = 0
            runtime.report(NAME, None)

    return [poll]
