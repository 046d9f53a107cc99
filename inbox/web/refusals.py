"""A domain refusal (``inbox.errors.Conflict``), answered once for the whole app.

The API gets the refusal's status (409, 422) and its reason. A page says, before it acts, where
the agent goes back to and what she reads if the domain refuses (``on_refusal``); the handler
then flashes that, translated, and redirects. The transaction has rolled back by then.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from inbox.errors import Conflict
from inbox.web.catalog import gettext
from inbox.web.render import flash, language


def on_refusal(request: Request, back: str, say: str = "%(why)s", **values: Any) -> None:
    """If the domain refuses what this page is about to do: go back to ``back`` and say
    ``say`` (an English message id; ``%(why)s`` is the refusal's reason, translated)."""
    request.state.refusal = (back, say, values)


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Conflict)
    where = getattr(request.state, "refusal", None)
    if where is None or request.url.path.startswith("/api/"):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    back, say, values = where
    lang = language(request)
    flash(request, gettext(lang, say, why=gettext(lang, str(exc)), **values), "error")
    return RedirectResponse(back, status_code=303)
