"""Call events from the PBX in the field names of Zammad's generic CTI API.

``POST /webhooks/cti/{token}`` with ``event`` (newCall, answer, hangup), ``from``, ``to``,
``direction`` (in/out), ``callId``, ``user`` (``user[]``, repeated for a group call), ``cause``
(normalClearing, busy, cancel, noAnswer, congestion, notFound, forwarded, voicemail…) and
``answeringNumber``; form-encoded, multipart (Zammad's curl examples) or JSON. The answer is
``{}``, as Zammad's, so integrations written for it (Placetel, sipgate…) work unchanged.
Zammad's convention is kept too: an ``answer`` by the user ``voicemail`` is the voicemail.
"""

from __future__ import annotations

import hmac
import json
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from channels.base import InboundMessage, ParseError
from channels.phone.common import at_of, describe, journal, message, new_event, now, number_of
from channels.web import settings_of
from channels.webhooks import Webhooks

EVENTS = {"newCall", "answer", "hangup"}
MAX_BODY = 64 * 1024

webhooks = Webhooks()


def _unquote(value: str) -> str:
    # Zammad's own curl examples send form values wrapped in quotes: --form 'event="hangup"'.
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _json_fields(raw: bytes) -> dict[str, list[str]]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ParseError(f"CTI: invalid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ParseError("CTI: JSON is not an object")
    fields: dict[str, list[str]] = {}
    for key, value in data.items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, bool) or not isinstance(v, str | int):
                raise ParseError(f"CTI: field {key[:30]!r} is not a string")
            fields.setdefault(key.removesuffix("[]"), []).append(str(v))
    return fields


def _multipart_fields(raw: bytes, content_type: str) -> dict[str, list[str]]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    if not msg.is_multipart():
        raise ParseError("CTI: multipart body without parts")
    fields: dict[str, list[str]] = {}
    for part in msg.iter_parts():
        name = str(part.get_param("name", header="content-disposition") or "")
        payload = part.get_payload(decode=True)
        value = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        fields.setdefault(name.removesuffix("[]"), []).append(_unquote(value.strip()))
    return fields


def fields_of(raw: bytes, content_type: str) -> dict[str, list[str]]:
    """Every field of the payload, ``user[]`` read as ``user``; ParseError if unreadable."""
    ctype = content_type.partition(";")[0].strip().lower()
    if ctype == "application/json" or (ctype in ("", "text/plain") and raw.lstrip()[:1] == b"{"):
        return _json_fields(raw)
    if ctype == "multipart/form-data":
        return _multipart_fields(raw, content_type)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("CTI: body is not UTF-8") from exc
    fields: dict[str, list[str]] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        fields.setdefault(key.removesuffix("[]"), []).append(_unquote(value))
    return fields


def event_name(raw: bytes, content_type: str) -> str | None:
    """The event a payload announces, if it can be read (the route skips unknown ones)."""
    try:
        values = fields_of(raw, content_type).get("event")
    except ParseError:
        return None
    return values[0] if values else None


def _one(fields: dict[str, list[str]], name: str, limit: int, required: bool = True) -> str:
    value = (fields.get(name) or [""])[0].strip()
    if required and not value:
        raise ParseError(f"CTI: {name} missing")
    if len(value) > limit:
        raise ParseError(f"CTI: {name} longer than {limit}")
    return value


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    fields = fields_of(raw, str(envelope.get("content_type", "")))
    name = _one(fields, "event", 20)
    if name not in EVENTS:
        raise ParseError(f"CTI: unknown event {name[:20]!r}")
    direction = _one(fields, "direction", 3)
    if direction not in ("in", "out"):
        raise ParseError("CTI: direction is neither in nor out")
    call_id = _one(fields, "callId", 250)  # Zammad's limit
    caller, callee = _one(fields, "from", 100, False), _one(fields, "to", 100, False)
    lang = str(envelope.get("lang", "fr"))
    event = new_event(f"cti:{call_id}", name, direction, caller, callee, lang)
    users = [u.strip()[:200] for u in fields.get("user", []) if u.strip()]
    answering = _one(fields, "answeringNumber", 200, False)
    event["user"] = (answering or ", ".join(users))[:200]
    event["cause"] = _one(fields, "cause", 50, False)
    event["voicemail"] = name == "answer" and any(u.lower() == "voicemail" for u in users)
    at = at_of(envelope)
    if name != "hangup":
        return message(event, at)
    kind = {"busy": "busy", "voicemail": "voicemail"}.get(event["cause"], "missed")
    return message(event, at, describe(kind, at, number_of(event), None, event["lang"]))


@webhooks.post("/webhooks/cti/{token}")
async def cti_webhook(request: Request) -> JSONResponse:
    """One call event. A wrong token is 403 and nothing is journaled."""
    settings, token = settings_of(request), request.path_params["token"]
    if not settings.cti.enabled:
        raise HTTPException(404)
    expected = settings.cti.token.get_secret_value().encode()
    if not (expected and hmac.compare_digest(token.encode(), expected)):
        raise HTTPException(403, "invalid CTI token")
    length = request.headers.get("content-length", "0")
    if (int(length) if length.isdigit() else 0) > MAX_BODY:
        raise HTTPException(413, "CTI event too large")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, "CTI event too large")
    content_type = request.headers.get("content-type", "")
    name = event_name(raw, content_type)
    if name is not None and name not in EVENTS:
        # An event we do not handle: accepted, so that the PBX does not retry.
        return JSONResponse({})
    envelope = {
        "source": "cti",
        "content_type": content_type[:200],
        "received_at": now(),
        "lang": settings.language,
    }
    await journal(request, raw, envelope)  # garbage too: the pipeline quarantines it
    return JSONResponse({})
