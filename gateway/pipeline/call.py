"""Stage: telephony events on the call log; only calls nobody answered go on to a ticket.

It folds each event into the call's row (``Call``, one per ``call_key``). Events may
come twice or out of order, so every update is idempotent and never goes backwards: times are
kept once known, and the outcome only moves up ``RANK`` (a late ``newCall`` after the hangup
changes nothing). The citizen is set when exactly one citizen holds the number.

Then it decides, as Zammad's caller log does: a hangup of an incoming call that nobody answered
(Zammad's rule: no ``answer`` event before it, whatever the cause, except ``forwarded``), or
that ended on the voicemail, goes on through the pipeline to become a "call back" ticket (the
thread stage joins the caller's open ticket if she has one); the ``link_call`` stage then
records the ticket on the call. Everything else (ringing, answered, outgoing, a missed call
with a withheld number, an imported call older than the import's cutoff) is handled here: on
the citizen's timeline through the call row, no ticket. A voicemail's recording and
transcription always go on: they carry something to hear or read, and join the call's ticket.

A withheld number cannot be matched nor called back, and must not join another anonymous
caller's conversation: its voicemail is marked ``unidentified``, which the thread, matching and
acknowledge stages skip, so that it joins only its own call's ticket, with no citizen, flagged
for an agent to identify the caller.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from channels.phone.common import ANONYMOUS_SENDER, describe
from gateway.core.db import serialize_on
from gateway.pipeline.context import Context
from inbox.contacts import holders
from inbox.models import Call, Ticket

RANK = {"ringing": 0, "answered": 1, "missed": 1, "busy": 1, "forwarded": 1, "voicemail": 2}
CALL_BACK = {"missed", "busy", "voicemail"}
CONTENT = {"voicemail", "transcription"}  # events with a recording or a text
CAUSE_OUTCOME = {"busy": "busy", "forwarded": "forwarded", "voicemail": "voicemail"}


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(str(value))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _earliest(current: datetime | None, new: datetime | None) -> datetime | None:
    if current is None or new is None:
        return current or new
    return min(current, new)


def _outcome(call: Call, event: dict[str, Any]) -> str:
    """What this event says the call came to."""
    name = event["event"]
    if name == "answer":
        return "voicemail" if event.get("voicemail") else "answered"
    if name in CONTENT:
        return "voicemail"
    if name != "hangup":
        return "ringing"
    if event.get("outcome"):  # a call detail record knows
        return str(event["outcome"])
    if call.answered_at is not None:
        return call.outcome if call.outcome != "ringing" else "answered"
    return CAUSE_OUTCOME.get(str(event.get("cause", "")), "missed")


def merge(call: Call, event: dict[str, Any]) -> None:
    """Fold one event into the call's row, idempotently and never backwards."""
    at = _time(event["at"])
    name = event["event"]
    call.caller = call.caller or str(event.get("caller", ""))[:64]
    call.callee = call.callee or str(event.get("callee", ""))[:64]
    started = _time(event.get("started_at")) or (at if name == "newCall" else None)
    call.started_at = _earliest(call.started_at, started) or call.started_at
    answered = _time(event.get("answered_at")) or (at if name == "answer" else None)
    call.answered_at = call.answered_at or answered
    if (name == "answer" and not event.get("voicemail")) or event.get("outcome") == "answered":
        call.agent_user = call.agent_user or str(event.get("user", ""))[:200]
    if name == "hangup":
        call.ended_at = call.ended_at or _time(event.get("ended_at")) or at
        call.cause = call.cause or str(event.get("cause", ""))[:50]
    if name in CONTENT:
        call.recording_url = call.recording_url or str(event.get("recording_url", ""))[:500]
    if isinstance(event.get("duration"), int):  # the provider's own count wins
        call.duration_seconds = event["duration"]
    elif call.ended_at is not None and (call.duration_seconds is None or name == "newCall"):
        # A late newCall moves the start earlier: the call lasted longer than we thought.
        call.duration_seconds = int((call.ended_at - call.started_at).total_seconds())
    outcome = _outcome(call, event)
    if RANK.get(outcome, 1) > RANK.get(call.outcome, 0):
        call.outcome = outcome


def _row(ctx: Context, event: dict[str, Any]) -> Call:
    key = str(event["key"])[:200]
    serialize_on(ctx.session, "call:" + key)  # two events of one call in flight: one waits
    call = ctx.session.exec(select(Call).where(Call.call_key == key)).first()
    if call is None:
        first = _time(event.get("started_at")) or _time(event["at"])
        call = Call(call_key=key, direction=event["direction"])
        if first is not None:
            call.started_at = first
    merge(call, event)
    number = event.get("number")
    if call.citizen_id is None and number:
        known = holders(ctx.session, "phone", number)
        if len(known) == 1:
            call.citizen_id = known[0]
    ctx.session.add(call)
    ctx.session.flush()
    return call


def _makes_ticket(call: Call, event: dict[str, Any]) -> bool:
    if call.direction != "in" or event.get("log_only"):
        return False
    if event["event"] in CONTENT:
        return True
    return event["event"] == "hangup" and call.outcome in CALL_BACK and call.ticket_id is None


def _ring_text(ctx: Context, call: Call) -> None:
    """A CTI hangup alone does not know how long it rang; the call row does."""
    if ctx.msg.call is None or ctx.msg.call.get("duration") is not None:
        return
    kind = call.outcome if call.outcome in CALL_BACK else "missed"
    seconds = call.duration_seconds if call.outcome != "voicemail" else None
    number = ctx.msg.call.get("number") or None
    lang = str(ctx.msg.call.get("lang", "fr"))
    subject, text = describe(kind, call.started_at, number, seconds, lang)
    ctx.msg = dataclasses.replace(ctx.msg, subject=subject, text=text)


def run(ctx: Context) -> None:
    event = ctx.msg.call
    if event is None:
        return
    call = _row(ctx, event)
    if not _makes_ticket(call, event) or (
        ctx.msg.sender == ANONYMOUS_SENDER and event["event"] not in CONTENT
    ):
        ctx.stopped = ctx.finished = True
        return
    if event["event"] == "hangup":
        _ring_text(ctx, call)
    if call.ticket_id is not None:  # the recording or transcription of a call with a ticket
        ctx.claimed_ticket = ctx.session.get(Ticket, call.ticket_id)
        ctx.claimed_by = "call"
    if ctx.msg.sender == ANONYMOUS_SENDER:
        # The later stages know: no conversation to join, no one to match or acknowledge.
        ctx.unidentified = True
        ctx.review_reasons.append("citizen_uncertain")
