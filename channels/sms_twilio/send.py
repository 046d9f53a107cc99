"""Outgoing SMS through the official Twilio client, MMS media downloads, Twilio's error codes.

The client is pointed at ``settings.twilio.api_base`` when set (tests, demo). Every failure is
a ChannelError whose ``permanent`` says whether the outbox should try again.
"""

from __future__ import annotations

from typing import Any

import httpx
import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels.base import Attachment, ChannelError, RemoteAttachment, Sent
from channels.web import tls_context
from gateway.core.settings import Settings

# Where Twilio reports delivery when ``twilio.status_callbacks`` is on (served by .webhook).
STATUS_PATH = "/webhooks/twilio/sms/status"
TIMEOUT_SECONDS = 30.0  # the twilio client sets none: a silent connection would hang the outbox
MAX_REDIRECTS = 3
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
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


def send(settings: Settings, recipient: str, content: dict[str, Any]) -> Sent:
    """Send one SMS; ChannelError(permanent) for what retrying cannot fix.

    21610 (the recipient answered STOP to Twilio) is permanent and carries ``opt_out=True``.
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
        raise ChannelError(
            "SMS: neither twilio.from_number nor messaging_service_sid is set", permanent=True
        )
    if tw.status_callbacks:
        sender["status_callback"] = settings.public_url.rstrip("/") + STATUS_PATH
    twilio = client(settings)
    try:
        message = twilio.messages.create(to=recipient, body=content["body"], **sender)
    except TwilioException as exc:
        status, code = int(getattr(exc, "status", 0) or 0), getattr(exc, "code", None)
        text = f"Twilio HTTP {status}: {error_text(code, 'error')}"
        if code == 21610:
            raise ChannelError(text, permanent=True, opt_out=True) from exc
        permanent = 400 <= status < 500 and status not in (401, 429)
        raise ChannelError(text, permanent=permanent) from exc
    except requests.RequestException as exc:
        raise ChannelError(f"Twilio unreachable: {type(exc).__name__}") from exc
    finally:
        if twilio.http_client.session is not None:
            twilio.http_client.session.close()
    return Sent(provider_id=str(message.sid), status=str(message.status or "queued"))


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
        raise ChannelError("MMS media: invalid URL", permanent=True) from exc
    if not _media_host(settings, url):
        raise ChannelError(
            "MMS media: URL outside Twilio's media hosts, not fetched", permanent=True
        )
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
                    raise ChannelError(
                        "MMS media: redirected outside Twilio, not followed", permanent=True
                    )
    except httpx.InvalidURL as exc:
        raise ChannelError("MMS media: invalid redirect", permanent=True) from exc
    except httpx.HTTPError as exc:
        raise ChannelError(f"MMS media: {type(exc).__name__}") from exc
    raise ChannelError("MMS media: too many redirects", permanent=True)


def _read(settings: Settings, ref: RemoteAttachment, resp: httpx.Response) -> Attachment:
    if resp.status_code == 429 or resp.status_code >= 500:
        raise ChannelError(f"MMS media: HTTP {resp.status_code}")
    if resp.status_code != 200:
        raise ChannelError(f"MMS media: HTTP {resp.status_code}", permanent=True)
    limit = settings.smtp.max_message_size
    too_big = ChannelError("MMS media: larger than the size limit", permanent=True)
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
