"""Twilio webhooks are signed: ``X-Twilio-Signature`` over the public URL and the form params.

Shared by the SMS and voice routes. The URL is the one Twilio called, i.e. the configured
public URL plus the path and query, never the Host header we received (a proxy rewrites it).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from twilio.request_validator import RequestValidator

from channels.web import settings_of


def public_url(request: Request) -> str:
    base = settings_of(request).public_url.rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


async def verified_form(request: Request) -> tuple[bytes, dict[str, str]]:
    """The raw body and its parameters, or 403 when the signature does not match."""
    settings = settings_of(request)
    body = await request.body()
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs):  # a repeated field: the signature covers only one of its values
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(settings.twilio.auth_token.get_secret_value())
    token_set = bool(settings.twilio.auth_token.get_secret_value())
    if not (token_set and signature and validator.validate(public_url(request), params, signature)):
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return body, params
