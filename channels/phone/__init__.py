"""The phone channel: every call goes on the call log; missed calls and voicemails become
"call back" tickets (``gateway.pipeline.calls`` decides, from the whole call).

Three sources, one shape (``InboundMessage.call``, see ``channels.phone.common``):

- a PBX speaking Zammad's generic CTI API (``cti``): ``POST /webhooks/cti/{token}``;
- Twilio Voice as the town hall's answering machine (``twilio_voice``);
- Asterisk CDR files, journaled by ``guichet calls import`` (``channels.phone.asterisk``).

The sender is the citizen's E.164 number: the caller of an incoming call, the callee of an
outgoing one. A withheld number gives ``phone:anonymous``: the call is logged; a missed one
cannot be called back, so it opens no ticket; a voicemail does (she may have said who she is),
without citizen matching.
"""

from __future__ import annotations

from typing import Any

from channels import sms_twilio
from channels.base import Channel, InboundMessage, ParseError
from channels.phone import asterisk, cti, twilio_voice
from channels.phone.common import ANONYMOUS_SENDER, at_of, describe, message, new_event, number_of
from channels.webhooks import Webhooks

__all__ = ["ANONYMOUS_SENDER", "CHANNEL", "normalize"]


def normalize_asterisk(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    """One call's CDR rows. Missed calls that ended before ``callbacks_since`` (set by the
    import) are history, logged only; later ones become call-backs."""
    try:
        tz = asterisk.zone(str(envelope.get("tz", "Europe/Paris")))
        cdr = asterisk.parse_text(raw.decode("utf-8"), tz)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"Asterisk CDR: {exc}") from exc
    lang = str(envelope.get("lang", "fr"))
    event = new_event(f"asterisk:{cdr.uniqueid}", "hangup", cdr.direction, cdr.src, cdr.dst, lang)
    event.update(
        outcome=cdr.outcome,
        cause=cdr.disposition,
        user=cdr.agent,
        started_at=cdr.start.isoformat(),
        answered_at=cdr.answer.isoformat() if cdr.answer else None,
        ended_at=cdr.end.isoformat(),
        duration=cdr.duration,
        log_only=cdr.end < at_of(envelope, "callbacks_since"),
    )
    kind = cdr.outcome if cdr.outcome in ("busy", "voicemail") else "missed"
    seconds = cdr.billsec if cdr.outcome == "voicemail" else cdr.duration - cdr.billsec
    return message(event, cdr.start, describe(kind, cdr.start, number_of(event), seconds, lang))


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    source = envelope.get("source")
    if source == "cti":
        return cti.normalize(raw, envelope)
    if source == "twilio":
        return twilio_voice.normalize(raw, envelope)
    if source == "asterisk":
        return normalize_asterisk(raw, envelope)
    raise ParseError(f"phone: unknown source {str(source)[:20]!r}")


webhooks = Webhooks()
webhooks.include(cti.webhooks)
webhooks.include(twilio_voice.webhooks)

CHANNEL = Channel(
    name="phone",
    normalize=normalize,
    # Each route answers 404 unless its own source is enabled (CTI or Twilio).
    enabled=lambda s: s.cti.enabled or s.twilio.enabled,
    fetch=sms_twilio.fetch,  # recordings live on the same Twilio media hosts as MMS media
    webhooks=webhooks,
)
