"""``Server-Timing: app;dur=<ms>`` on every response of the FastAPI app.

Benchmarks (bench/inbox.py) read it to measure time spent in the application, apart from the
client and the network; browsers' developer tools show it too. Pure ASGI, so it costs one
clock read and one header, and it sees the whole request: middlewares, dependencies, the
thread pool queue and the route. The ``/webhooks/*`` fast path does not go through it.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerTiming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={ms:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)
