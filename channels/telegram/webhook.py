"""Webhook mode (``telegram.mode = "webhook"``): ``POST /webhooks/telegram``.

The request must carry our ``X-Telegram-Bot-Api-Secret-Token``; an update we do not take is
answered 200 without being journaled, so that Telegram stops sending it.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import HTTPException, Request, Response

from channels.telegram.parse import NAME, wanted
from channels.web import ingest, settings_of
from channels.webhooks import Webhooks

log = logging.getLogger(__name__)
webhooks = Webhooks()


@webhooks.post("/webhooks/telegram")
async def webhook(request: Request) -> Response:
    settings = settings_of(request)
    if settings.telegram.mode != "webhook":
        raise HTTPException(status_code=404)
    expected = settings.telegram.secret_token.get_secret_value().encode()
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
    if not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(status_code=403, detail="invalid secret token")
    raw = await request.body()
    if not wanted(raw):
        return Response(status_code=200)  # Telegram stops retrying; nothing for us in it
    try:
        await ingest(request, NAME, raw, {})
    except Exception as exc:
        log.error("telegram update not journaled: %s", type(exc).__name__)
        return Response(status_code=503)  # Telegram retries later
    return Response(status_code=200)
