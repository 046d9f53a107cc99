"""A local Telegram Bot API, speaking its documented wire format (core.telegram.org/bots/api).

Tests and the demo point ``settings.telegram.api_base`` at ``base_url`` and use ``token`` as
the bot token; the official library then talks to it as to api.telegram.org::

    with TelegramSimulator() as sim:
        sim.add_file("AgAD-photo", jpeg_bytes, "photos/file_0.jpg")
        sim.push_update(make_update(1, 42, photo="AgAD-photo"))   # served by getUpdates
        post_update(webhook_url, make_update(2, 42, text="Bonjour"), secret)  # or a webhook
        ... sim.sent  # what the bot "sent" to citizens

It serves ``POST/GET /bot<token>/<method>`` (getMe, sendMessage, getFile, getUpdates with
``offset``/``timeout``/``allowed_updates``, setWebhook, deleteWebhook, getWebhookInfo) with
parameters in the query string, a form or a JSON body, and ``GET /file/bot<token>/<path>``.
Answers are ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description":
…}``; a wrong token gets 401. Failures to inject: ``blocked`` chat ids (403), ``missing`` chat
ids (400 chat not found), ``fail_next(method, status, retry_after)`` (a 429, a 500 …).
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Self
from urllib.parse import unquote

import httpx

from channels.simulators.base import Reply, Request, Simulator, json_reply

BOT_ID = 7000000001
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Mairie", "username": "mairie_bot"}
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files: "file is too big"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: can't use getUpdates method while webhook is active",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
}


class _ApiError(Exception):
    def __init__(self, status: int, description: str = "", retry_after: int | None = None):
        super().__init__(description)
        self.status, self.retry_after = status, retry_after
        self.description = description or DESCRIPTIONS.get(status, "Error").format(
            retry_after=retry_after
        )

    def reply(self) -> Reply:
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            payload["parameters"] = {"retry_after": self.retry_after}
        return json_reply(self.status, payload)


class TelegramSimulator(Simulator):
    """The Bot API on 127.0.0.1 (a free port), recording what it is asked to do."""

    quiet = True  # a client that hung up on a long poll: nothing to report

    def __init__(self, token: str = "123456789:AAH-simulated-bot-token") -> None:
        super().__init__()
        self.token = token
        self.blocked: set[int] = set()  # chats whose user blocked the bot: 403
        self.missing: set[int] = set()  # chats that do not exist: 400 "chat not found"
        self.sent: list[dict[str, Any]] = []  # sendMessage calls that succeeded
        self.requests: list[tuple[str, dict[str, Any]]] = []  # every API call: (method, params)
        self.webhook: dict[str, Any] | None = None
        self._files: dict[str, tuple[bytes, str]] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1000
        self._errors: dict[str, deque[_ApiError]] = {}
        self._closing = False

    # -- lifecycle --

    def start(self) -> Self:
        self._closing = False
        return super().start()

    def stop(self) -> None:
        with self._lock:
            self._closing = True  # long polls waiting for updates return at once
            self._lock.notify_all()
        super().stop()

    # -- what tests and the demo set up --

    def add_file(self, file_id: str, data: bytes, file_path: str) -> None:
        """A file citizens sent (a photo size, a document), served by getFile and /file/."""
        with self._lock:
            self._files[file_id] = (data, file_path)

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (``update_id`` assigned if missing); return its id."""
        with self._lock:
            update = dict(update)
            update.setdefault("update_id", self._next_update_id)
            self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
            self._updates.append(update)
            self._lock.notify_all()
            return int(update["update_id"])

    def fail_next(
        self, method: str, status: int, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status`` (429, 500 …)."""
        with self._lock:
            queue = self._errors.setdefault(method.lower(), deque())
            queue.extend(_ApiError(status, retry_after=retry_after) for _ in range(times))

    def sent_to(self, chat_id: int) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.sent if m["chat_id"] == chat_id]

    def calls(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.requests if name == method.lower()]

    # -- the API --

    def respond(self, request: Request) -> Reply:
        parts = unquote(request.path).strip("/").split("/", 2)
        if len(parts) >= 2 and parts[0] == "file":  # /file/bot<token>/<file_path>
            path = parts[2] if len(parts) == 3 else ""
            data = self.download(path) if parts[1] == f"bot{self.token}" else None
            if data is None:
                return Reply(404, b'{"ok":false,"error_code":404,"description":"Not Found"}')
            return Reply(200, data, "application/octet-stream")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return _ApiError(404).reply()
        if parts[0] != f"bot{self.token}":
            return _ApiError(401).reply()
        try:
            result = self.call(parts[1], _params(request))
        except _ApiError as exc:
            return exc.reply()
        return json_reply(200, {"ok": True, "result": result})

    def call(self, method: str, params: dict[str, Any]) -> Any:
        method = method.lower()  # Bot API method names are case-insensitive
        with self._lock:
            self.requests.append((method, params))
            queue = self._errors.get(method)
            if queue:
                raise queue.popleft()
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise _ApiError(404)
        return handler(params)

    def _api_getme(self, params: dict[str, Any]) -> Any:
        return {**BOT_USER, "can_join_groups": False, "supports_inline_queries": False}

    def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id, text = _int(params.get("chat_id")), str(params.get("text") or "")
        if chat_id is None or chat_id in self.missing:
            raise _ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise _ApiError(403)
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        reply = _json_param(params.get("reply_parameters")) or {}
        reply_to = _int(reply.get("message_id") or params.get("reply_to_message_id"))
        with self._lock:
            self._next_message_id += 1
            message = {
                "message_id": self._next_message_id,
                "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private"},
                "date": int(time.time()),
                "text": text,
            }
            self.sent.append(
                {
                    "chat_id": chat_id,
                    "text": text,
                    "message_id": self._next_message_id,
                    "parse_mode": params.get("parse_mode"),
                    "reply_to_message_id": reply_to,
                }
            )
        return message

    def _api_getfile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id") or "")
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        data, path = found
        if len(data) > TELEGRAM_DOWNLOAD_LIMIT:
            raise _ApiError(400, "Bad Request: file is too big")
        unique = f"u-{file_id[-12:]}"
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_size": len(data),
            "file_path": path,
        }

    def _api_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise _ApiError(409)
        offset = _int(params.get("offset")) or 0
        limit = min(max(_int(params.get("limit")) or 100, 1), 100)
        timeout = min(max(_int(params.get("timeout")) or 0, 0), 50)
        allowed = set(_json_param(params.get("allowed_updates")) or [])
        deadline = time.monotonic() + timeout
        with self._lock:
            if offset > 0:  # everything before the offset is confirmed: forgotten
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                ready = [u for u in self._updates if not allowed or allowed & set(u)]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self._closing:
                    return ready[:limit]
                self._lock.wait(left)

    def _api_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
        return True

    def _api_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        url = (self.webhook or {}).get("url") or ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    def download(self, file_path: str) -> bytes | None:
        with self._lock:
            for data, path in self._files.values():
                if path == file_path:
                    return data
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _params(request: Request) -> dict[str, Any]:
    """The query string's parameters, and those of a form or JSON body."""
    params: dict[str, Any] = dict(request.query)
    kind = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if request.body and kind == "application/json":
        loaded = json.loads(request.body)
        params.update(loaded if isinstance(loaded, dict) else {})
    elif request.body:
        params.update(request.form())
    return params


def _json_param(value: Any) -> Any:
    """Objects arrive JSON-serialized in query strings and forms, as themselves in JSON bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


# -- payloads citizens send --


def make_update(
    update_id: int,
    chat_id: int,
    *,
    text: str | None = None,
    caption: str | None = None,
    photo: str | None = None,
    document: tuple[str, str, str] | None = None,
    contact: tuple[str, int | None] | None = None,
    reply_to: int | None = None,
    first_name: str = "Marie",
    last_name: str = "Dupont",
    user_id: int | None = None,
    chat_type: str = "private",
    kind: str = "message",
    message_id: int | None = None,
) -> dict[str, Any]:
    """An update as Telegram sends it: a message in a private chat unless told otherwise.

    ``photo`` is the file id of the largest size (two smaller sizes come first, as Telegram
    sends them), ``document`` is ``(file_id, file_name, mime_type)``, ``contact`` is
    ``(phone_number, user_id)`` (the sender's own id: she shares her number; another id or
    None: someone else's), ``reply_to`` the id of one of the bot's messages she answers.
    ``kind`` may be "edited_message" or "channel_post"; ``chat_type`` "group", "channel" ….
    """
    sender = {"id": user_id or chat_id, "is_bot": False, "first_name": first_name}
    if last_name:
        sender["last_name"] = last_name
    sender["language_code"] = "fr"
    if chat_type == "private":
        chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
    else:
        chat = {"id": chat_id, "type": chat_type, "title": "Conseil de quartier"}
    message: dict[str, Any] = {
        "message_id": message_id or update_id + 100,
        "chat": chat,
        "date": 1_760_000_000 + update_id,
    }
    if chat_type == "channel":
        message["sender_chat"] = chat
    else:
        message["from"] = sender
    if kind.startswith("edited"):
        message["edit_date"] = message["date"] + 60
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0].encode("utf-16-le")) // 2
            message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
    if caption is not None:
        message["caption"] = caption
    if photo is not None:
        message["photo"] = [
            {
                "file_id": f"{photo}-{size}" if size < 1280 else photo,
                "file_unique_id": f"u{size}",
                "width": size,
                "height": size * 3 // 4,
                "file_size": size * 40,
            }
            for size in (90, 320, 1280)
        ]
    if document is not None:
        file_id, file_name, mime_type = document
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id[-8:]}",
            "file_name": file_name,
            "mime_type": mime_type,
        }
    if contact is not None:
        phone, contact_user = contact
        message["contact"] = {"phone_number": phone, "first_name": first_name}
        if contact_user is not None:
            message["contact"]["user_id"] = contact_user
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to,
            "from": BOT_USER,
            "chat": chat,
            "date": message["date"] - 30,
            "text": "Bonjour, votre demande est bien enregistrée.",
        }
    return {"update_id": update_id, kind: message}


def post_update(
    url: str,
    update: dict[str, Any] | bytes,
    secret_token: str | None,
    client: httpx.Client | None = None,
) -> int:
    """POST an update to a webhook as Telegram does (JSON, the secret header); the status.

    ``client`` may be a Starlette TestClient (then ``url`` is a path); ``secret_token=None``
    sends no header; bytes are sent as they are (malformed payloads).
    """
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers[SECRET_HEADER] = secret_token
    if client is not None:
        return client.post(url, content=body, headers=headers).status_code
    with httpx.Client(timeout=10) as own:
        return own.post(url, content=body, headers=headers).status_code
