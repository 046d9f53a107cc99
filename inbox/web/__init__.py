"""The agents' pages: server-rendered (Jinja2), enhanced by htmx, every core action a plain form.

Pages use the API's permission dependencies (``inbox.permissions``) and domain services, so the
rules exist once. Every state-changing request carries the session's CSRF token.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from inbox.errors import Conflict
from inbox.web import citizens, dashboard, events, queue, session, supervision, tickets
from inbox.web.refusals import refused
from inbox.web.render import csrf_protect

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
MODULES = (session, queue, tickets, citizens, supervision, dashboard, events)
for module in MODULES:
    router.include_router(module.router)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    """A page asked for without a session sends the browser to the sign-in form."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 401 and not path.startswith("/api/") and request.method == "GET":
        here = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
    return await http_exception_handler(request, exc)


def close(app: FastAPI) -> None:
    """End the open live-update streams (the server is stopping)."""
    feed = getattr(app.state, "live", None)
    if feed is not None:
        feed.close()


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(HTTPException, _sign_in_first)
    # The API's refusals too: one handler, whichever router raised it.
    app.add_exception_handler(Conflict, refused)
