"""Providers' webhooks as a plain ASGI app: a route table, a Starlette request, a response.

Twilio and Telegram can post thousands of requests a second in a burst; each must be answered
as soon as its payload is in the journal. FastAPI's per-request work (route resolution across
included routers, dependency solving, response validation) costs more CPU than the webhook
itself (bench/channels.py), and none of it is needed here: a provider's request has one method,
one fixed path and a body we only verify and store. So a handler takes a Starlette ``Request``
and returns a ``Response``, and raises ``HTTPException`` as it would under FastAPI.

Paths are exact, except a last segment written ``{name}``, which matches one non-empty
segment and is passed as ``request.path_params[name]`` (``/webhooks/cti/{token}``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]


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
        found = self.resolve(scope["path"])
        if found is None:
            response: Response = JSONResponse({"detail": "Not Found"}, status_code=404)
        elif scope["method"] != "POST":
            response = JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "POST"}
            )
        else:
            handler, params = found
            scope["path_params"] = params
            try:
                response = await handler(Request(scope, receive))
            except HTTPException as exc:  # the same answer FastAPI would give
                response = JSONResponse(
                    {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
                )
        await response(scope, receive, send)
