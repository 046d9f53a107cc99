"""The phone channel: every call goes on the call log; missed calls and voicemails become
"call back" tickets (``gateway.pipeline.call`` decides, from the whole call).

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

from channels.base import (
    Channel,
    InboundMessage,
    Label,
    ParseError,
    Receipt,
    short_acknowledgement,
)
from channels.phone import asterisk, cti, twilio_voice
from channels.phone.common import (
    ANONYMOUS_SENDER,
    NAME,
    at_of,
    describe,
    message,
    new_event,
    number_of,
)
from channels.sms_twilio.send import fetch
from channels.sms_twilio.text import sms_text
from channels.webhooks import Webhooks
from gateway.core.settings import Settings

__all__ = ["ANONYMOUS_SENDER", "CHANNEL", "normalize"]


def normalize_asterisk(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    """One call's CDR rows. Missed calls that ended before ``callbacks_since`` (set by the
    import) are history, logged only; later ones become call-backs.

    Marked ``automated="imported"``: a call from a CDR file may be days old, so it is called
    back, never acknowledged by SMS."""
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
    wording = describe(kind, cdr.start, number_of(event), seconds, lang)
    return message(event, cdr.start, wording, automated="imported")


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    source = envelope.get("source")
    if source == "cti":
        return cti.normalize(raw, envelope)
    if source == "twilio":
        return twilio_voice.normalize(raw, envelope)
    if source == "asterisk":
        return normalize_asterisk(raw, envelope)
    raise ParseError(f"phone: unknown source {str(source)[:20]!r}")


def acknowledgement(settings: Settings, msg: InboundMessage, receipt: Receipt) -> dict[str, Any]:
    """A missed call or a voicemail, acknowledged by SMS (``answered_on``)."""
    return short_acknowledgement(settings, msg, sms_text("ack_call", settings, receipt.reference))


webhooks = Webhooks()
webhooks.include(cti.webhooks)
webhooks.include(twilio_voice.webhooks)

CHANNEL = Channel(
    name=NAME,
    normalize=normalize,
    label=Label(fr="Téléphone", en="Phone"),
    icon="☎",
    # Each route answers 404 unless its own source is enabled (CTI or Twilio).
    enabled=lambda s: s.cti.enabled or s.twilio.enabled,
    contact="phone",
    conversational=True,
    acknowledgement=acknowledgement,
    answered_on="sms",  # the SMS channel's ``reaches`` keeps landlines out
    fetch=fetch,  # recordings live on the same Twilio media hosts as MMS media
    webhooks=webhooks,
)
