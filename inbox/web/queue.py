"""The queue: every open ticket an agent may see, most urgent first, and "take the next one"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox import services
from inbox.deps import AccessDep, Db
from inbox.models import OPEN_STATUSES
from inbox.queries import COUNT_CAP, Queue, queue_count, queue_rows
from inbox.web.catalog import gettext
from inbox.web.labels import channel_names
from inbox.web.render import flash, language, page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, access: AccessDep, db: Db) -> HTMLResponse:
    f = Queue.of(request.query_params)
    with db.read() as session:
        rows, more = queue_rows(session, access, f)
        count = queue_count(session, access, f)
    # htmx (filters changed, a live update arrived) takes #queue and #count out of the page.
    return page(
        request,
        "queue.html",
        access.agent,
        title=gettext(language(request), "Queue"),
        rows=rows,
        more=more,
        count=f"{count - 1}+" if count >= COUNT_CAP else str(count),
        f=f,
        channels=channel_names(language(request)),
        statuses=OPEN_STATUSES,
    )


@router.post("/queue/next", response_model=None)
def take_next(request: Request, access: AccessDep, db: Db) -> Response:
    with db.write() as session:
        ticket = services.claim_next(session, access)
    if ticket is None:
        flash(request, gettext(language(request), "No request is waiting for you."))
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/tickets/{ticket.reference}", status_code=303)
