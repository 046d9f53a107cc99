"""The SMS channel through Twilio: inbound SMS/MMS webhooks, delivery reports, outgoing SMS.

``POST /webhooks/twilio/sms`` checks ``X-Twilio-Signature`` (channels.twilio_auth), journals the
form body as it came and answers an empty TwiML document: Twilio then sends nothing itself, our
acknowledgement goes through the outbox. ``POST /webhooks/twilio/sms/status`` applies Twilio's
delivery reports to the outgoing message (not journaled: they are not citizens' messages).
``normalize`` reads the journaled form: the MessageSid is the dedupe key, STOP / ARRÊT / START
(or Twilio's ``OptOutType``) become opt-out / opt-in commands, MMS media become remote files
that ``fetch`` downloads from Twilio's media hosts only. ``send`` goes through the official
client, pointed at ``settings.twilio.api_base`` when set (tests, demo).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

import httpx
import requests
from fastapi import Request, Response
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels.base import (
    Attachment,
    Channel,
    ChannelError,
    InboundMessage,
    ParseError,
    RemoteAttachment,
    Sent,
)
from channels.twilio_auth import form_fields, verified_form
from channels.web import delivered, ingest, tls_context
from channels.webhooks import Webhooks
from gateway.core.settings import Settings
from matching import normalize_phone

log = logging.getLogger(__name__)

NAME = "sms"
INBOUND_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/sms/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TIMEOUT_SECONDS = 30.0  # the twilio client sets none: a silent connection would hang the outbox
MAX_MEDIA = 10  # Twilio's own limit per MMS
MAX_REDIRECTS = 3
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SID = re.compile(r"[A-Za-z0-9]{10,64}")
_E164 = re.compile(r"\+[1-9][0-9]{5,14}")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Twilio's standard keywords, and the French ones people actually type (whole message only).
OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt", "stop sms"}
OPT_IN = {"start", "unstop", "yes", "demarrer", "démarrer"}
OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in"}  # Advanced Opt-Out; HELP is a message
# Twilio sends other channels (WhatsApp, Messenger) to a number's SMS webhook with a prefix.
FOREIGN_PREFIXES = ("whatsapp:", "messenger:", "rcs:")
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/quicktime": "mov",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "text/vcard": "vcf",
    "text/x-vcard": "vcf",
    "text/calendar": "ics",
    "text/plain": "txt",
    "application/pdf": "pdf",
}
# Twilio error codes as Twilio names them (www.twilio.com/docs/api/errors): stored on the
# outgoing message so an agent sees why it did not arrive.
ERRORS = {
    20003: "Authentication failed",
    20429: "Too many requests",
    21211: "Invalid 'To' phone number",
    21408: "Permission to send an SMS has not been enabled for the region",
    21606: "The 'From' number is not a valid message-capable Twilio number",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' number is not currently reachable via SMS",
    21614: "'To' number is not a valid mobile number",
    21617: "The message body exceeds the 1600 character limit",
    30001: "Queue overflow",
    30002: "Account suspended",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30010: "Message price exceeds max price",
}
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


# --- reading a webhook (pure) -----------------------------------------------------------------


def control_of(body: str, opt_out_type: str = "") -> str | None:
    """Whether the whole message is an opt-out or opt-in keyword: "opt_out", "opt_in" or None."""
    if opt_out_type:
        return OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    word = " ".join(unicodedata.normalize("NFC", body).split()).strip(".!").casefold()
    if word in OPT_OUT:
        return "opt_out"
    return "opt_in" if word in OPT_IN else None


def media_of(fields: dict[str, str]) -> tuple[RemoteAttachment, ...]:
    """MediaUrl{N} / MediaContentType{N} for N < NumMedia, named ``mms-1.jpg`` …"""
    count = fields.get("NumMedia", "0").strip() or "0"
    if not count.isascii() or not count.isdigit():
        raise ParseError("SMS webhook: NumMedia is not a number")
    refs = []
    for n in range(min(int(count), MAX_MEDIA)):
        url = fields.get(f"MediaUrl{n}", "").strip()
        if not url:  # the text still matters: do not quarantine it for one missing file
            continue
        ctype = fields.get(f"MediaContentType{n}", "").split(";")[0].strip().lower()
        if not _CONTENT_TYPE.fullmatch(ctype):
            ctype = "application/octet-stream"
        name = f"mms-{n + 1}.{EXTENSIONS.get(ctype, 'bin')}"
        refs.append(RemoteAttachment(url=url, content_type=ctype, filename=name))
    return tuple(refs)


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    """An InboundMessage from a journaled Twilio SMS/MMS webhook form body."""
    fields = form_fields(raw, "SMS webhook")
    sid = fields.get("MessageSid", "")
    if not _SID.fullmatch(sid):
        raise ParseError("SMS webhook: no valid MessageSid")
    origin = unicodedata.normalize("NFKC", fields.get("From", "")).strip()
    if origin.lower().startswith(FOREIGN_PREFIXES):
        raise ParseError("SMS webhook: not an SMS (another Twilio channel)")
    sender = normalize_phone(origin, "FR") if origin else None
    if sender is None or not _E164.fullmatch(sender):
        raise ParseError("SMS webhook: From is not a phone number")
    # PostgreSQL cannot store NUL; everything else is the citizen's text, kept as typed.
    body = fields.get("Body", "").replace("\x00", "")
    body = body.removesuffix("\n").removesuffix("\r")
    to = fields.get("To", "").strip()
    return InboundMessage(
        channel=NAME,
        sender=sender,
        recipients=(to,) if to else (),
        text=body,
        message_id=sid,
        remote_attachments=media_of(fields),
        control=control_of(body, fields.get("OptOutType", "")),
    )


# --- sending --------------------------------------------------------------------------------


def client(settings: Settings) -> Client:
    """The official client, pointed at ``twilio.api_base`` when set (a local stand-in).

    twilio-python builds every API URL from its ``api`` domain's ``base_url``; changing it on
    this instance (not the class) redirects this client only. Edge/region rewriting is turned
    off then, as it would mangle a local host name.
    """
    tw = settings.twilio
    http = TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    twilio = Client(tw.account_sid, tw.auth_token.get_secret_value(), http_client=http)
    if tw.api_base:
        twilio.api.base_url = tw.api_base.rstrip("/")
        twilio.edge = twilio.region = None
    return twilio


def error_text(code: int | str | None, fallback: str = "") -> str:
    """``"30003 Unreachable destination handset"``: Twilio's code and name, no personal data."""
    try:
        number = int(code or 0)
    except ValueError:
        return f"Twilio error {str(code)[:20]}"
    if not number:
        return fallback
    return f"{number} {ERRORS.get(number, 'Twilio error')}"


def _error(text: str, permanent: bool, optout: bool = False) -> ChannelError:
    error = ChannelError(text)
    error.permanent = permanent
    error.optout = optout  # type: ignore[attr-defined]  # the outbox records the opt-out
    return error


def send(settings: Settings, recipient: str, content: dict[str, Any]) -> Sent:
    """Send one SMS; ChannelError(permanent) for what retrying cannot fix.

    21610 (the recipient answered STOP to Twilio) is permanent and carries ``optout=True``.
    Other 4xx are permanent, except 401 (our credentials: fixed by an administrator, the
    message should then go) and 429; 5xx, timeouts and connection errors are transient.
    """
    tw = settings.twilio
    sender: dict[str, str] = {}
    if tw.from_number:
        sender["from_"] = tw.from_number
    elif tw.messaging_service_sid:
        sender["messaging_service_sid"] = tw.messaging_service_sid
    else:
        raise _error("SMS: neither twilio.from_number nor messaging_service_sid is set", True)
    if tw.status_callbacks:
        sender["status_callback"] = settings.public_url.rstrip("/") + STATUS_PATH
    twilio = client(settings)
    try:
        message = twilio.messages.create(to=recipient, body=content["body"], **sender)
    except TwilioException as exc:
        status, code = int(getattr(exc, "status", 0) or 0), getattr(exc, "code", None)
        text = f"Twilio HTTP {status}: {error_text(code, 'error')}"
        if code == 21610:
            raise _error(text, True, optout=True) from exc
        raise _error(text, 400 <= status < 500 and status not in (401, 429)) from exc
    except requests.RequestException as exc:
        raise _error(f"Twilio unreachable: {type(exc).__name__}", False) from exc
    finally:
        if twilio.http_client.session is not None:
            twilio.http_client.session.close()
    return Sent(provider_id=str(message.sid), status=str(message.status or "queued"))


# --- media ------------------------------------------------------------------------------------


def _media_host(settings: Settings, url: httpx.URL) -> bool:
    """A configured media host (exact host or host:port), over HTTPS or plain HTTP on loopback."""
    hosts = settings.twilio.media_hosts
    netloc = f"{url.host}:{url.port}" if url.port else url.host
    listed = url.host in hosts or netloc in hosts
    secure = url.scheme == "https" or (url.scheme == "http" and url.host in LOOPBACK)
    return listed and secure and not url.userinfo


def fetch(settings: Settings, ref: RemoteAttachment) -> Attachment:
    """Download one MMS media file from Twilio.

    The URL must be on one of ``twilio.media_hosts`` (exact host, or host:port), over HTTPS
    (plain HTTP only on loopback: a local stand-in); anything else is refused, never requested.
    The account's credentials go only to that URL's own origin. Twilio answers with a redirect
    to its CDN: at most three redirects are followed, each to an HTTPS URL or to a media host,
    and the credentials are never sent to another origin. More than ``smtp.max_message_size``
    bytes, or a 4xx, is permanent; 429, 5xx and network errors are transient.
    """
    try:
        url = httpx.URL(ref.url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _error("MMS media: invalid URL", True) from exc
    if not _media_host(settings, url):
        raise _error("MMS media: URL outside Twilio's media hosts, not fetched", True)
    origin = (url.scheme, url.host, url.port)
    auth = (settings.twilio.account_sid, settings.twilio.auth_token.get_secret_value())
    try:
        with httpx.Client(
            timeout=TIMEOUT_SECONDS, follow_redirects=False, verify=tls_context()
        ) as http:
            for _hop in range(MAX_REDIRECTS + 1):
                same_origin = (url.scheme, url.host, url.port) == origin
                with http.stream("GET", url, auth=auth if same_origin else None) as resp:
                    if not resp.is_redirect:
                        return _read(settings, ref, resp)
                    url = url.join(resp.headers.get("location", ""))
                if url.scheme != "https" and not _media_host(settings, url):
                    raise _error("MMS media: redirected outside Twilio, not followed", True)
    except httpx.InvalidURL as exc:
        raise _error("MMS media: invalid redirect", True) from exc
    except httpx.HTTPError as exc:
        raise _error(f"MMS media: {type(exc).__name__}", False) from exc
    raise _error("MMS media: too many redirects", True)


def _read(settings: Settings, ref: RemoteAttachment, resp: httpx.Response) -> Attachment:
    if resp.status_code == 429 or resp.status_code >= 500:
        raise _error(f"MMS media: HTTP {resp.status_code}", False)
    if resp.status_code != 200:
        raise _error(f"MMS media: HTTP {resp.status_code}", True)
    limit = settings.smtp.max_message_size
    too_big = _error("MMS media: larger than the size limit", True)
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    data = bytearray()
    for chunk in resp.iter_bytes():
        data += chunk
        if len(data) > limit:
            raise too_big
    ctype = ref.content_type or resp.headers.get("content-type", "").split(";")[0].strip()
    return Attachment(ref.filename or "mms.bin", ctype or "application/octet-stream", bytes(data))


# --- webhooks ---------------------------------------------------------------------------------

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


def enabled(settings: Settings) -> bool:
    return settings.twilio.enabled


CHANNEL = Channel(
    name=NAME, normalize=normalize, enabled=enabled, send=send, fetch=fetch, webhooks=webhooks
)
