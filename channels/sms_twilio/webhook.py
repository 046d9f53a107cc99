"""Twilio's SMS webhooks: a citizen's SMS/MMS, and delivery reports for the SMS we sent.

Both check ``X-Twilio-Signature`` (channels.twilio_auth). An inbound SMS is journaled as it
came and answered with an empty TwiML document, so that Twilio sends nothing itself: our
acknowledgement goes through the outbox. Delivery reports are applied to the outgoing message,
not journaled: they are not citizens' messages.
"""

from __future__ import annotations

import logging

from fastapi import Request, Response

from channels.sms_twilio.parse import FOREIGN_PREFIXES, NAME
from channels.sms_twilio.send import STATUS_PATH, error_text
from channels.twilio_auth import verified_form
from channels.web import delivered, ingest
from channels.webhooks import Webhooks

log = logging.getLogger(__name__)

INBOUND_PATH = "/webhooks/twilio/sms"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Delivery statuses Twilio reports, in the outbox's vocabulary; others are ignored.
STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}

webhooks = Webhooks()


@webhooks.post(INBOUND_PATH)
async def inbound(request: Request) -> Response:
    """A citizen's SMS or MMS: journaled as it came, answered with an empty TwiML document."""
    raw, fields = await verified_form(request)
    twiml = Response(EMPTY_TWIML, media_type="text/xml")
    if fields.get("From", "").lower().startswith(FOREIGN_PREFIXES):
        return twiml  # WhatsApp and co. are not this channel: acknowledged, not journaled
    try:
        await ingest(request, NAME, raw, {})
    except Exception as exc:
        log.error("SMS webhook not journaled: %s", type(exc).__name__)
        return Response(status_code=503)  # Twilio retries
    return twiml


@webhooks.post(STATUS_PATH)
async def delivery_status(request: Request) -> Response:
    """A delivery report for an SMS we sent: applied to the outgoing message."""
    _raw, fields = await verified_form(request)
    sid = fields.get("MessageSid", "")
    status = STATUSES.get(fields.get("MessageStatus", "").strip().lower())
    if sid and status:
        error = error_text(fields.get("ErrorCode"), fields.get("ErrorMessage", "")[:200])
        found = await delivered(request, NAME, sid, status, error)
        log.debug("SMS status %s for %s (ours: %s)", status, sid, found)
    return Response(status_code=204)
