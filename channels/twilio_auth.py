"""Twilio webhooks are signed: ``X-Twilio-Signature`` over the public URL and the form params.

Shared by the SMS and voice routes. The URL is the one Twilio called, i.e. the configured
public URL plus the path and query, never the Host header we received (a proxy rewrites it).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from twilio.request_validator import RequestValidator

from channels.base import ParseError
from channels.web import settings_of


def form_params(raw: bytes) -> dict[str, str]:
    """A Twilio form's fields; ValueError if it is not UTF-8 or names a field twice.

    A repeated field is refused because the signature check reads one value per name (a
    dict): whatever we read must be exactly what was verified.
    """
    pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    params = dict(pairs)
    if len(params) != len(pairs):
        raise ValueError("a form field is repeated")
    return params


def form_fields(raw: bytes, what: str) -> dict[str, str]:
    """``form_params`` for a journaled payload (SMS, voice): ParseError quarantines it."""
    try:
        return form_params(raw)
    except ValueError as exc:
        raise ParseError(f"{what}: not a UTF-8 form with single fields ({exc})") from exc


def public_url(request: Request) -> str:
    base = settings_of(request).public_url.rstrip("/")
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{base}{request.scope['path']}{'?' + query if query else ''}"


def signed(validator: RequestValidator, url: str, params: dict[str, str], signature: str) -> bool:
    """The library's check. The URL as configured is what Twilio signs, so it is tried first
    (one HMAC); ``validate`` then tries it with and without its port (two more), which only a
    request that failed the first needs."""
    if hmac.compare_digest(validator.compute_signature(url, params), signature):
        return True
    return bool(validator.validate(url, params, signature))


async def verified_form(request: Request) -> tuple[bytes, dict[str, str]]:
    """The raw body and its fields, or 403 when the signature does not match."""
    token = settings_of(request).twilio.auth_token.get_secret_value()
    signature = request.headers.get("X-Twilio-Signature", "")
    body = await request.body()
    try:
        params = form_params(body)
    except ValueError:  # not what Twilio signs: refused like a bad signature
        raise HTTPException(status_code=403, detail="invalid Twilio signature") from None
    url = public_url(request)
    if not (token and signature and signed(RequestValidator(token), url, params, signature)):
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return body, params
