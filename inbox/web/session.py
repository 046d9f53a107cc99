"""Signing in and out of the agents' pages (a session cookie; API tokens stay for the API)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox.auth import authenticate
from inbox.deps import Db
from inbox.services import audit
from inbox.web.catalog import gettext
from inbox.web.render import language, page

router = APIRouter()


class LoginLimiter:
    """Failed sign-ins per address and per client within a sliding window (this process).

    Guessing passwords is slowed to ``max_failures`` tries per window for one account, whatever
    the number of clients, and for one client, whatever the accounts it tries.
    """

    def __init__(self, max_failures: int, window: float) -> None:
        self.max_failures, self.window = max_failures, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, keys: list[str]) -> float:
        """Seconds before these keys may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                times[0] + self.window - now
                for times in (self._recent(k, now) for k in keys)
                if len(times) >= self.max_failures
            ]
        return max(waits, default=0.0)

    def failed(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def limiter(request: Request) -> LoginLimiter:
    state = request.app.state
    if not hasattr(state, "login_limiter"):
        inbox = state.settings.inbox
        state.login_limiter = LoginLimiter(inbox.login_max_failures, inbox.login_window_seconds)
    found: LoginLimiter = state.login_limiter
    return found


def _safe_next(target: str | None) -> str:
    """Only a path of ours: never an open redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _form(request, next, "")


def _form(request: Request, next: str | None, error: str, status_code: int = 200) -> HTMLResponse:
    title = gettext(language(request), "Sign in")
    response = page(request, "login.html", None, title=title, next=_safe_next(next), error=error)
    response.status_code = status_code
    return response


@router.post("/login", response_model=None)
def login(
    request: Request,
    db: Db,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    lang = language(request)
    address = email.strip().lower()
    client = request.client.host if request.client else "?"
    keys = [f"address:{address}", f"client:{client}"]
    wait = limiter(request).retry_after(keys)
    if wait > 0:
        error = gettext(
            lang, "Too many attempts. Try again in %(minutes)d min.", minutes=int(wait // 60) + 1
        )
        response = _form(request, next, error, 429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    with db.read() as session:
        agent = authenticate(session, address, password)
    if agent is None:
        limiter(request).failed(keys)
        error = gettext(lang, "Wrong e-mail address or password.")
        return _form(request, next, error, 401)
    limiter(request).succeeded(keys[0])
    with db.write() as session:
        audit(session, agent, "agent.signed_in")
    request.session.clear()
    request.session["agent_id"] = agent.id
    request.session["lang"] = lang
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
