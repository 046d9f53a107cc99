"""What a channel's webhook route needs from the running app, in one place.

Routes read the settings and hand raw payloads to the journal through these accessors, so a
channel module never reaches into the app's internals.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import certifi
from fastapi import Request

from gateway import metrics
from gateway.db import Database
from gateway.settings import Settings


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


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def ingest(request: Request, channel: str, raw: bytes, envelope: dict[str, Any]) -> int:
    """Commit the payload to the journal; return its id. Answer the provider only after this."""
    item_id: int = await request.app.state.ingest(channel, raw, envelope)
    metrics.MESSAGES_RECEIVED.labels(channel).inc()
    return item_id


def report(request: Request, name: str, error: str | None) -> None:
    request.app.state.report(name, error)
