"""What a channel's webhook route needs from the running app, in one place.

Routes read the settings, hand raw payloads to the journal and delivery reports to the domain
through these accessors, so a channel module never reaches into the app's internals.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import certifi
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from gateway.core import metrics
from gateway.core.settings import Settings


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS client context for every outgoing HTTP client (Telegram bots, MMS downloads).

    httpx builds a fresh context per client by default, and loading the CA bundle takes tens of
    milliseconds holding the GIL that the webhooks answering providers share (bench/channels.py).
    """
    return ssl.create_default_context(cafile=certifi.where())


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def delivered(
    request: Request, channel: str, provider_id: str, status: str, error: str = ""
) -> bool:
    """Apply a provider's delivery report to the message we sent; False if it is not ours.

    The domain records it (``inbox.outbox.record_delivery``); the app hands it over, so that a
    channel knows nothing of tickets and messages."""
    record = request.app.state.record_delivery
    found: bool = await run_in_threadpool(record, channel, provider_id, status, error)
    return found


async def ingest(request: Request, channel: str, raw: bytes, envelope: dict[str, Any]) -> int:
    """Commit the payload to the journal; return its id. Answer the provider only after this."""
    item_id: int = await request.app.state.ingest(channel, raw, envelope)
    metrics.MESSAGES_RECEIVED.labels(channel).inc()
    return item_id


def report(request: Request, name: str, error: str | None) -> None:
    request.app.state.report(name, error)
