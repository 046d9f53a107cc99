"""The plain server-rendered pages: sign-in and the queue (the full agent UI comes later).

Language: ``?lang=en`` or the browser's Accept-Language, French by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from inbox import i18n
from inbox.auth import Db, authenticate, current_agent
from inbox.models import Agent, Citizen, Ticket, TicketStatus
from inbox.services import queue_order

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
OPEN = (TicketStatus.new, TicketStatus.open, TicketStatus.waiting_citizen)


def language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.headers.get("accept-language", "fr")[:2]
    return asked if asked in i18n.LANGUAGES else "fr"


def _render(request: Request, name: str, agent: Agent | None, **context: Any) -> HTMLResponse:
    lang = language(request)
    return templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": lambda key: i18n.text(key, lang),
            "agent": agent,
            "authority": request.app.state.settings.authority_name,
            **context,
        },
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _render(
        request, "login.html", None, title=i18n.text("login", language(request)), error=False
    )


@router.post("/login", response_model=None)
def login(
    request: Request, db: Db, email: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    with db.read() as session:
        agent = authenticate(session, email, password)
    if agent is None:
        title = i18n.text("login", language(request))
        response = _render(request, "login.html", None, title=title, error=True)
        response.status_code = 401
        return response
    request.session.clear()
    request.session["agent_id"] = agent.id
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse, response_model=None)
def queue_page(request: Request, db: Db) -> Response:
    try:
        agent = current_agent(request, db)
    except HTTPException:
        return RedirectResponse("/login", status_code=303)
    lang = language(request)
    with db.read() as session:
        rows = session.exec(
            select(Ticket, Citizen, Agent)
            .join(Citizen, col(Citizen.id) == Ticket.citizen_id, isouter=True)
            .join(Agent, col(Agent.id) == Ticket.assignee_id, isouter=True)
            .where(col(Ticket.status).in_(OPEN))
            .order_by(*queue_order())
            .limit(500)
        ).all()
    tickets = [
        {
            "ticket": t,
            "citizen": (c.display_name or f"{c.first_name} {c.last_name}".strip()) if c else "",
            "assignee": a.name if a else "",
            "reasons": ", ".join(
                i18n.text(f"reason_{r}", lang) for r in t.review_reason.split(",") if r
            ),
        }
        for t, c, a in rows
    ]
    return _render(request, "queue.html", agent, title=i18n.text("queue", lang), tickets=tickets)
