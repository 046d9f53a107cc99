"""Providers' webhooks as a plain ASGI app: a route table, a Starlette request, a response.

Twilio and Telegram can post thousands of requests a second in a burst; each must be answered
as soon as its payload is in the journal. FastAPI's per-request work (route resolution across
included routers, dependency solving, response validation) costs more CPU than the webhook
itself (bench/channels.py), and none of it is needed here: a provider's request has one method,
one fixed path and a body we only verify and store. So a handler takes a Starlette ``Request``
and returns a ``Response``, and raises ``HTTPException`` as it would under FastAPI.

Paths are exact, except a last segment written ``{name}``, which matches one non-empty
segment and is passed as ``request.path_params[name]`` (``/webhooks/cti/{token}``). A body
over ``MAX_BODY`` is refused with 413 before a handler runs (providers' payloads are a few
kilobytes; files come as links), and a handler's crash is a 500 whose log names the exception
type only, never the payload.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]
MAX_BODY = 1024 * 1024


class Webhooks:
    """POST routes of one channel, or, once several are included, of every enabled channel."""

    def __init__(self) -> None:
        self.exact: dict[str, Handler] = {}
        self.prefixed: dict[str, tuple[str, Handler]] = {}  # "/webhooks/cti/" -> ("token", h)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            head, _, last = path.rpartition("/")
            if last.startswith("{") and last.endswith("}"):
                self.prefixed[head + "/"] = (last[1:-1], handler)
            else:
                self.exact[path] = handler
            return handler

        return register

    def include(self, other: Webhooks) -> None:
        self.exact.update(other.exact)
        self.prefixed.update(other.prefixed)

    def resolve(self, path: str) -> tuple[Handler, dict[str, str]] | None:
        handler = self.exact.get(path)
        if handler is not None:
            return handler, {}
        head, _, last = path.rpartition("/")
        found = self.prefixed.get(head + "/")
        if found is None or not last:
            return None
        name, handler = found
        return handler, {name: last}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._answer(scope, receive)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        found = self.resolve(scope["path"])
        if found is None:
            return _error(404, "Not Found")
        if scope["method"] != "POST":
            return _error(405, "Method Not Allowed", {"Allow": "POST"})
        body = await _bounded_body(receive)
        if body is None:
            return _error(413, "Payload Too Large")
        handler, params = found
        scope["path_params"] = params
        try:
            return await handler(Request(scope, _replay(body)))
        except HTTPException as exc:  # the same answer FastAPI would give
            return _error(exc.status_code, exc.detail, exc.headers)
        except Exception as exc:
            log.error("webhook %s failed: %s", scope["path"], type(exc).__name__)
            return _error(500, "Internal Server Error")


def _error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _bounded_body(receive: Receive) -> bytes | None:
    """The whole request body, or None as soon as it exceeds MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
