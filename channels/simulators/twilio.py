"""A local Twilio, speaking its documented wire format (www.twilio.com/docs/messaging/api).

Tests and the demo point ``settings.twilio.api_base`` at ``base_url``, use ``account_sid`` and
``auth_token``, and list ``media_host`` in ``twilio.media_hosts``; the official client then
talks to it as to api.twilio.com::

    with TwilioSimulator() as sim:
        sim.send_sms(webhook_url, "+33612345678", "Bonjour", media=[(jpeg, "image/jpeg")])
        ... sim.sent                       # the SMS the town hall "sent" to citizens
        sim.deliver(sid, "delivered")      # the signed status callback Twilio would post
        sim.post_webhook(url, params)      # any signed Twilio webhook: SMS, status, voice

It serves ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form parameters in, the
Message resource as JSON out, 201) and the media of inbound MMS at
``GET /2010-04-01/Accounts/{AccountSid}/Messages/{MM…}/Media/{ME…}``, both behind HTTP basic
auth with the account SID and auth token (401 and error 20003 otherwise). With
``redirect_media`` a media request is answered, as Twilio does, with a redirect to a second
server on another port (``cdn_url``) that serves the file without credentials. Errors come as
Twilio's JSON ``{"code", "message", "more_info", "status"}``: numbers in ``invalid_numbers``
get 400/21211, in ``unsubscribed`` 400/21610; ``fail_next(500)`` or ``fail_next(429)`` fails
the next message creations. ``requests`` records every request both servers received.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from channels.simulators.base import Reply, Request, Simulator, json_reply

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
TOWN_HALL_NUMBER = "+33757000001"  # an example number: the town hall's Twilio number
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€\f")
ERRORS = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
Params = Mapping[str, str]


def new_sid(prefix: str) -> str:
    """A Twilio SID: two letters and 32 hex digits (``SM…``, ``MM…``, ``ME…``, ``AC…``)."""
    return prefix + secrets.token_hex(16)


def segments(body: str) -> int:
    """How many SMS parts Twilio would bill: GSM-7 (160, 153 a part) or UCS-2 (70, 67)."""
    if all(c in _GSM7 or c in _GSM7_EXT for c in body):
        size = sum(2 if c in _GSM7_EXT else 1 for c in body)
        return 1 if size <= 160 else -(-size // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def sign(auth_token: str, url: str, params: Params) -> str:
    """``X-Twilio-Signature``: HMAC-SHA1 of the URL and the sorted parameters, base64."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def post_webhook(
    url: str,
    params: Params,
    auth_token: str,
    *,
    client: httpx.Client | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST ``params`` form-encoded to ``url``, signed as Twilio signs its webhooks.

    ``signature`` replaces the computed one ("" sends no header: forged or missing). ``client``
    may be a Starlette TestClient: ``url`` is then still the public URL that is signed.
    """
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1"}
    sig = sign(auth_token, url, params) if signature is None else signature
    if sig:
        headers[SIGNATURE_HEADER] = sig
    body = urlencode(dict(params)).encode()
    if client is not None:
        return client.post(url, content=body, headers=headers)
    with httpx.Client(timeout=10) as own:
        return own.post(url, content=body, headers=headers)


class TwilioError(Exception):
    def __init__(self, status: int, code: int, **values: str) -> None:
        super().__init__(code)
        self.status, self.code = status, code
        self.message = ERRORS.get(code, "Error").format(**values)

    def payload(self) -> bytes:
        more = f"https://www.twilio.com/docs/errors/{self.code}"
        doc = {"code": self.code, "message": self.message, "more_info": more, "status": self.status}
        return json.dumps(doc).encode()

    def reply(self) -> Reply:
        challenge = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else {}
        return Reply(self.status, self.payload(), headers=challenge)


class TwilioSimulator(Simulator):
    """Twilio's Messages API and media on 127.0.0.1 (free ports), recording what it is asked."""

    roles = ("api", "cdn")  # the API, and the server its media redirects lead to

    def __init__(
        self, account_sid: str | None = None, auth_token: str | None = None, *, number: str = ""
    ) -> None:
        super().__init__()
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.number = number or TOWN_HALL_NUMBER  # the town hall's number: "To" of inbound SMS
        self.invalid_numbers: set[str] = set()  # 400, error 21211
        self.unsubscribed: set[str] = set()  # 400, error 21610 (the citizen sent STOP)
        self.redirect_media = False  # media requests answered with a redirect to cdn_url
        self.sent: list[dict[str, Any]] = []  # messages created: sid, to, from, body, …
        self.requests: list[dict[str, str]] = []  # server ("api"/"cdn"), method, path, auth
        self._media: dict[str, tuple[bytes, str]] = {}  # path → (bytes, content type)
        self._failures: list[int] = []

    # -- addresses ---------------------------------------------------------------------------

    @property
    def cdn_url(self) -> str:
        return self._url("cdn")

    @property
    def media_host(self) -> str:
        """The ``host:port`` to list in ``twilio.media_hosts``."""
        return self.base_url.removeprefix("http://")

    # -- what tests and the demo set up --------------------------------------------------------

    def serve(self, path: str, data: bytes, content_type: str) -> str:
        """Serve a file under the account (basic auth) at ``path``; returns its URL.

        For a recording: ``f"/2010-04-01/Accounts/{sim.account_sid}/Recordings/{new_sid('RE')}"``.
        """
        with self._lock:
            self._media[path] = (data, content_type)
        return self.base_url + path

    def add_media(self, data: bytes, content_type: str, message_sid: str | None = None) -> str:
        """A file a citizen sent by MMS; returns its MediaUrl, as Twilio gives it."""
        message = message_sid or new_sid("MM")
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message}/Media/"
        return self.serve(path + new_sid("ME"), data, content_type)

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next ``times`` message creations fail with ``status`` (429, 500, 503 …)."""
        with self._lock:
            self._failures.extend([status] * times)

    def sent_to(self, number: str) -> list[str]:
        with self._lock:
            return [m["body"] for m in self.sent if m["to"] == number]

    def seen(self, role: str) -> list[dict[str, str]]:
        with self._lock:
            return [r for r in self.requests if r["server"] == role]

    # -- webhooks Twilio would post ------------------------------------------------------------

    def sign(self, url: str, params: Params) -> str:
        return sign(self.auth_token, url, params)

    def post_webhook(
        self,
        url: str,
        params: Params,
        *,
        client: httpx.Client | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        """Any Twilio webhook (SMS, status callback, voice), signed with this account's token."""
        return post_webhook(url, params, self.auth_token, client=client, signature=signature)

    def sms_params(
        self,
        from_: str,
        body: str,
        *,
        media: Iterable[tuple[bytes | str, str]] = (),
        message_sid: str | None = None,
        extra: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        """The form of an incoming SMS/MMS webhook, as Twilio posts it.

        ``media`` holds ``(bytes, content_type)`` (served by this simulator) or ``(url,
        content_type)`` (any URL, e.g. a hostile one); ``extra`` adds or (None) removes fields.
        """
        files = list(media)
        sid = message_sid or new_sid("MM" if files else "SM")
        params = {  # in Twilio's order; the location fields are mostly empty in France
            "ToCountry": "FR",
            "ToState": "",
            "SmsMessageSid": sid,
            "NumMedia": str(len(files)),
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "FR" if from_.startswith("+33") else "",
            "To": self.number,
            "ToZip": "",
            "NumSegments": str(segments(body)),
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
        }
        for n, (data, ctype) in enumerate(files):
            url = data if isinstance(data, str) else self.add_media(data, ctype, sid)
            params[f"MediaUrl{n}"], params[f"MediaContentType{n}"] = url, ctype
        for key, value in (extra or {}).items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return params

    def send_sms(
        self,
        url: str,
        from_: str,
        body: str,
        *,
        media: Iterable[tuple[bytes | str, str]] = (),
        message_sid: str | None = None,
        extra: Mapping[str, str | None] | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """POST a signed incoming SMS (MMS with ``media``) to ``url``; see ``sms_params``."""
        params = self.sms_params(from_, body, media=media, message_sid=message_sid, extra=extra)
        return self.post_webhook(url, params, client=client)

    def deliver(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        *,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """Post the signed status callback of a message we "sent" (sent, delivered, failed …)."""
        with self._lock:
            found = [m for m in self.sent if m["sid"] == sid]
            if not found:
                raise KeyError(f"no message {sid} was sent")
            message = found[0]
            message["status"] = status
        callback = message["status_callback"]
        if not callback:
            raise ValueError(f"message {sid} was sent without a StatusCallback")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message["from"] or self.number,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.post_webhook(callback, params, client=client)

    # -- the API ---------------------------------------------------------------------------------

    def respond(self, request: Request) -> Reply:
        auth = request.headers.get("Authorization", "")
        self.record(request.role, request.method, request.path, auth)
        try:
            if request.role == "cdn":  # pre-signed URLs: no credentials needed
                found = self.media(request.path.removeprefix("/cdn"))
                if request.method != "GET" or found is None:
                    raise TwilioError(404, 20404)
                return Reply(200, *found)
            return self._api(request, auth)
        except TwilioError as exc:
            return exc.reply()

    def _api(self, request: Request, auth: str) -> Reply:
        method, path = request.method, request.path
        parts = path.strip("/").split("/")
        if parts[:2] != [API_VERSION, "Accounts"] or len(parts) < 4:
            raise TwilioError(404, 20404)
        if parts[2] != self.account_sid or not self.authorized(auth):
            raise TwilioError(401, 20003)
        if method == "POST" and parts[3:] == ["Messages.json"]:
            return json_reply(201, self.create_message(parts[2], request.form()))
        found = self.media(path) if method == "GET" else None
        if found is None:
            raise TwilioError(404, 20404)
        if self.redirect_media:
            return Reply(307, content_type=None, headers={"Location": f"{self.cdn_url}/cdn{path}"})
        return Reply(200, *found)

    def create_message(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        to, body = params.get("To", ""), params.get("Body", "")
        sender, service = params.get("From", ""), params.get("MessagingServiceSid", "")
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                raise TwilioError(status, 20429 if status == 429 else 20500)
        if not to:
            raise TwilioError(400, 21604)
        if not sender and not service:
            raise TwilioError(400, 21603)
        if not body and not params.get("MediaUrl"):
            raise TwilioError(400, 21602)
        if len(body) > 1600:
            raise TwilioError(400, 21617)
        if to in self.invalid_numbers:
            raise TwilioError(400, 21211, to=to)
        if to in self.unsubscribed:
            raise TwilioError(400, 21610)
        sid = new_sid("SM")
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{account}/Messages/{sid}"
        record = {
            "sid": sid,
            "to": to,
            "from": sender,
            "messaging_service_sid": service,
            "body": body,
            "status_callback": params.get("StatusCallback", ""),
            "status": "queued" if sender else "accepted",
        }
        with self._lock:
            self.sent.append(record)
        resource = dict.fromkeys(("date_sent", "error_code", "error_message", "price"))
        resource.update(
            account_sid=account,
            api_version=API_VERSION,
            body=body,
            date_created=now,
            date_updated=now,
            direction="outbound-api",
            messaging_service_sid=service or None,
            num_media="0",
            num_segments=str(segments(body)),
            price_unit="USD",
            sid=sid,
            status=record["status"],
            subresource_uris={"media": f"{uri}/Media.json"},
            to=to,
            uri=f"{uri}.json",
        )
        resource["from"] = sender or None
        return resource

    def record(self, role: str, method: str, path: str, auth: str) -> None:
        with self._lock:
            self.requests.append({"server": role, "method": method, "path": path, "auth": auth})

    def media(self, path: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._media.get(path)

    def authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(header.encode(), f"Basic {expected}".encode())
