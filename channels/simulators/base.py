"""What the simulators share: local HTTP servers in daemon threads, answering through ``respond``.

A simulator subclasses ``Simulator`` and turns each ``Request`` into a ``Reply``; this module does
the rest (free ports, threads, start/stop, reading the request, writing the answer), so that each
simulator holds only its provider's wire format.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Request:
    """One request a simulator's server received."""

    role: str  # which of the simulator's servers received it
    method: str  # "GET" or "POST"
    path: str  # without the query string
    query: list[tuple[str, str]]  # in order, blank values kept
    headers: Message
    body: bytes

    def form(self) -> dict[str, str]:
        """The body, form-encoded."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"  # None: no Content-Type (a redirect)
    headers: Mapping[str, str] = field(default_factory=dict)  # sent after Content-Length


def json_reply(
    status: int,
    payload: Any,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Reply:
    return Reply(status, json.dumps(payload).encode(), content_type, headers or {})


class Simulator(ABC):
    """Answers ``respond`` on 127.0.0.1, on a free port for each of ``roles``, once started."""

    roles: ClassVar[tuple[str, ...]] = ("api",)  # the first one is base_url
    quiet: ClassVar[bool] = False  # True: a request that fails (client gone) prints no traceback

    def __init__(self) -> None:
        # Guards what the simulator records; a condition, so that long polls can wait for news.
        self._lock = threading.Condition()
        self._servers: dict[str, _Server] = {}

    @abstractmethod
    def respond(self, request: Request) -> Reply:
        """The answer to one request (called on the servers' threads)."""

    def start(self) -> Self:
        for role in self.roles:
            server = _Server(self, role)
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self._servers[role] = server
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._url(self.roles[0])

    def _url(self, role: str) -> str:
        assert role in self._servers, "start() the simulator first"
        return f"http://127.0.0.1:{self._servers[role].server_address[1]}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # neither stop() nor the interpreter's exit waits for a long poll

    def __init__(self, sim: Simulator, role: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sim, self.role = sim, role

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.sim.quiet:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log in the tests' and the demo's output

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.server.role, method, url.path, query, self.headers, body)
        reply = self.server.sim.respond(request)
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
