"""Twilio Voice as the town hall's answering machine.

The number's voice webhook is ``/webhooks/twilio/voice`` and its call status callback
``/webhooks/twilio/voice/status`` (set both in the Twilio console). An incoming call is logged
as ringing and answered with a short French message and ``<Record>``; the call's final status
is a hangup event (completed, no-answer, busy, failed, canceled: nobody at the town hall spoke
to the caller, so it is a missed call unless she left a message).

A voicemail takes two callbacks. The recording callback makes the "call back" ticket, with the
recording downloaded into an attachment (by the SMS channel's ``fetch``: the same Twilio media
hosts and credentials) and its URL on the call log. The transcription callback, later and only
if Twilio could transcribe, adds the text to that same ticket as a new message (it refers to
the recording's message). A transcription that fails or never comes loses nothing: the
recording alone made the ticket. Twilio's recording callback does not say who called, so its
URL carries the caller's number (Twilio signs the URL, query included).
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request, Response
from twilio.twiml.voice_response import VoiceResponse

from channels.base import InboundMessage, ParseError, RemoteAttachment
from channels.phone.common import (
    at_of,
    describe,
    journal,
    message,
    new_event,
    now,
    number_of,
    texts,
)
from channels.twilio_auth import form_fields, verified_form
from channels.web import settings_of
from channels.webhooks import Webhooks
from gateway.core.settings import Settings

HANGUP_CAUSES = {  # CallStatus → the CTI cause it amounts to
    "completed": "normalClearing",
    "no-answer": "noAnswer",
    "busy": "busy",
    "failed": "congestion",
    "canceled": "cancel",
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
MAX_TRANSCRIPT = 20_000

webhooks = Webhooks()


def _sid(params: dict[str, str], name: str, prefix: str) -> str:
    sid = params.get(name, "")
    if not (sid.startswith(prefix) and sid.isalnum() and len(sid) <= 64):
        raise ParseError(f"Twilio: {name} missing or malformed")
    return sid


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    params = form_fields(raw, "Twilio voice")
    query = envelope.get("query") or {}
    kind, lang = envelope.get("kind"), str(envelope.get("lang", "fr"))
    key = "twilio:" + _sid(params, "CallSid", "CA")
    direction = "in" if params.get("Direction", "inbound") == "inbound" else "out"
    caller = params.get("From") or str(query.get("from", ""))
    callee = params.get("To") or str(query.get("to", ""))
    at = at_of(envelope)
    if kind == "voice":
        return message(new_event(key, "newCall", direction, caller, callee, lang), at)
    if kind == "status":
        status = params.get("CallStatus", "")
        if status not in HANGUP_CAUSES:
            raise ParseError("Twilio: call status is not final")
        event = new_event(key, "hangup", direction, caller, callee, lang)
        event["cause"] = HANGUP_CAUSES[status]
        duration = params.get("CallDuration", "")
        event["duration"] = int(duration) if duration.isdigit() else None
        kind = "busy" if status == "busy" else "missed"
        return message(event, at, describe(kind, at, number_of(event), None, lang))
    url = params.get("RecordingUrl", "")
    if not url.startswith(("https://", "http://")) or len(url) > 490:
        raise ParseError("Twilio: RecordingUrl missing or malformed")
    recording = _sid(params, "RecordingSid", "RE")
    length = params.get("RecordingDuration", "")
    seconds = int(length) if length.isdigit() else None
    if kind == "recording":
        event = new_event(key, "voicemail", direction, caller, callee, lang)
        event["recording_url"] = url
        media = RemoteAttachment(url + ".mp3", "audio/mpeg", f"message-vocal-{recording}.mp3")
        text = describe("voicemail", at, number_of(event), seconds, lang, recorded=True)
        return message(event, at, text, remote_attachments=(media,))
    if kind == "transcription":
        transcript = params.get("TranscriptionText", "").strip()[:MAX_TRANSCRIPT]
        if not transcript:
            raise ParseError("Twilio: empty transcription")
        event = new_event(key, "transcription", direction, caller, callee, lang)
        event["recording_url"] = url
        text = describe("voicemail", at, number_of(event), seconds, lang, transcript=transcript)
        return message(event, at, text, references=(f"{key}:voicemail",))
    raise ParseError(f"Twilio: unknown callback kind {str(kind)[:20]!r}")


# --- webhooks -------------------------------------------------------------------------------


def _enabled(request: Request) -> Settings:
    settings = settings_of(request)
    if not settings.twilio.enabled:
        raise HTTPException(404)
    return settings


def _twiml(xml: str) -> Response:
    return Response(xml, media_type="application/xml")


async def _journal(request: Request, kind: str, raw: bytes) -> Response:
    envelope = {
        "source": "twilio",
        "kind": kind,
        "received_at": now(),
        "lang": settings_of(request).language,
        "query": dict(request.query_params),
    }
    await journal(request, raw, envelope)
    return _twiml(EMPTY_TWIML)


def greeting(settings: Settings, caller: str, callee: str) -> str:
    """The answering machine: a short message, then up to two minutes of recording."""
    t = texts(settings.language)
    base = settings.public_url.rstrip("/") + "/webhooks/twilio/voice"
    who = urlencode({"from": caller, "to": callee})
    response = VoiceResponse()
    response.say(t["greeting"].format(authority=settings.authority_name), language=t["voice"])
    response.record(
        max_length=120,
        play_beep=True,
        transcribe=True,
        transcribe_callback=f"{base}/transcription",
        recording_status_callback=f"{base}/recording?{who}",
        recording_status_callback_event="completed",
    )
    return str(response)


@webhooks.post("/webhooks/twilio/voice")
async def voice(request: Request) -> Response:
    """An incoming call: logged as ringing, answered by the answering machine."""
    settings = _enabled(request)
    raw, params = await verified_form(request)
    if "RecordingUrl" in params:  # <Record>'s default action: the caller has finished
        t = texts(settings.language)
        response = VoiceResponse()
        response.say(t["goodbye"], language=t["voice"])
        response.hangup()
        return _twiml(str(response))
    with contextlib.suppress(HTTPException):  # answer her all the same: later callbacks
        await _journal(request, "voice", raw)  # carry the whole call
    return _twiml(greeting(settings, params.get("From", ""), params.get("To", "")))


@webhooks.post("/webhooks/twilio/voice/status")
async def voice_status(request: Request) -> Response:
    _enabled(request)
    raw, params = await verified_form(request)
    if params.get("CallStatus") not in HANGUP_CAUSES:
        return _twiml(EMPTY_TWIML)  # ringing, in-progress: the final status follows
    return await _journal(request, "status", raw)


@webhooks.post("/webhooks/twilio/voice/recording")
async def voice_recording(request: Request) -> Response:
    _enabled(request)
    raw, params = await verified_form(request)
    if params.get("RecordingStatus", "completed") != "completed":
        return _twiml(EMPTY_TWIML)  # absent or failed: the call status makes a missed call
    return await _journal(request, "recording", raw)


@webhooks.post("/webhooks/twilio/voice/transcription")
async def voice_transcription(request: Request) -> Response:
    _enabled(request)
    raw, params = await verified_form(request)
    if params.get("TranscriptionStatus") != "completed" or not params.get("TranscriptionText"):
        return _twiml(EMPTY_TWIML)  # the recording alone has made the ticket
    return await _journal(request, "transcription", raw)
