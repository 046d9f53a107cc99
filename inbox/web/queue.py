"""The queue: every open ticket an agent may see, most urgent first, and "take the next one"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from inbox import services
from inbox.auth import Db
from inbox.models import OPEN_STATUSES, Agent, Citizen, Message, Ticket
from inbox.permissions import Access, AccessDep
from inbox.web.render import aware, flash, gettext, language, page

router = APIRouter()
OPEN = OPEN_STATUSES
PAGE_SIZE = 50
EXCERPT = 140
COUNT_CAP = 1000  # counting further would cost more than an agent gains from the exact figure
VIEWS = ("all", "mine", "team", "unassigned")


@dataclass(frozen=True)
class Filters:
    view: str = "all"
    channel: str = ""
    status: str = ""
    review: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> Filters:
        p = request.query_params
        view = p.get("view", "all")
        status = p.get("status", "")
        number = p.get("page", "1")
        return cls(
            view=view if view in VIEWS else "all",
            channel=p.get("channel", "")[:20],
            status=status if status in OPEN else "",
            review=p.get("review") == "1",
            q=p.get("q", "").strip()[:100],
            page=max(1, min(int(number), 1000)) if number.isdigit() else 1,
        )

    def query_string(self, **change: Any) -> str:
        """The URL query for these filters, with ``change`` applied (defaults left out)."""
        values = {**self.__dict__, **change}
        defaults = {"view": "all", "page": 1}
        pairs = {
            key: int(value) if isinstance(value, bool) else value
            for key, value in values.items()
            if value and defaults.get(key) != value
        }
        return "?" + urlencode(pairs)


def citizen_name(citizen: Citizen | None) -> str:
    if citizen is None:
        return ""
    return citizen.display_name or f"{citizen.first_name} {citizen.last_name}".strip()


def _where(query: Any, access: Access, f: Filters) -> Any:
    agent = access.agent
    query = query.where(col(Ticket.status).in_([f.status] if f.status else OPEN), access.tickets())
    if f.view == "mine":
        query = query.where(Ticket.assignee_id == agent.id)
    elif f.view == "team":
        query = query.where(Ticket.team_id == agent.team_id)
    elif f.view == "unassigned":
        query = query.where(col(Ticket.assignee_id).is_(None))
    if f.channel:
        query = query.where(Ticket.channel == f.channel)
    if f.review:
        query = query.where(col(Ticket.needs_review).is_(True))
    if f.q:
        query = query.where(
            or_(Ticket.reference == f.q.upper(), col(Ticket.subject).ilike(f"%{f.q}%"))
        )
    return query


# The columns the page shows, not whole records: at 50 rows a page under load, building ORM
# objects (with their JSON columns) cost more than the query (bench/inbox.py).
ROW: tuple[Any, ...] = (
    col(Ticket.id),
    col(Ticket.reference),
    col(Ticket.subject),
    col(Ticket.channel),
    col(Ticket.status),
    col(Ticket.needs_review),
    col(Ticket.created_at),
    col(Ticket.due_at),
    col(Citizen.display_name),
    col(Citizen.first_name),
    col(Citizen.last_name),
    col(Agent.name).label("assignee"),
)


def queue_query(access: Access, f: Filters) -> Any:
    """The page's query (one row more than a page, to know whether there is a next one).

    Tickets are ordered and cut to a page first, then joined to their citizen and agent: joining
    every open ticket before sorting them cost 75 ms at 100,000 tickets on SQLite.
    """
    page = (
        _where(sa.select(col(Ticket.id)), access, f)
        .order_by(*services.queue_order())
        .offset((f.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
        .subquery()
    )
    return (
        sa.select(*ROW)
        .select_from(Ticket)
        .join(page, page.c.id == Ticket.id)
        .join(Citizen, col(Citizen.id) == Ticket.citizen_id, isouter=True)
        .join(Agent, col(Agent.id) == Ticket.assignee_id, isouter=True)
        .order_by(*services.queue_order())
    )


def queue_rows(session: Session, access: Access, f: Filters) -> tuple[list[dict[str, Any]], bool]:
    """One page of the queue and whether there is a next one."""
    found = session.execute(queue_query(access, f)).all()
    more = len(found) > PAGE_SIZE
    rows = found[:PAGE_SIZE]
    excerpts = _excerpts(session, [r.id for r in rows])
    now = datetime.now(UTC)
    return [
        {
            "ticket": r,
            "overdue": r.due_at is not None and aware(r.due_at) < now,
            "citizen": r.display_name or f"{r.first_name or ''} {r.last_name or ''}".strip(),
            "assignee": r.assignee or "",
            "excerpt": excerpts.get(r.id, ""),
        }
        for r in rows
    ], more


def queue_count(session: Session, access: Access, f: Filters) -> int:
    """How many tickets match, up to COUNT_CAP."""
    capped = _where(select(Ticket.id), access, f).limit(COUNT_CAP).subquery()
    return session.exec(select(func.count()).select_from(capped)).one()


def _excerpts(session: Session, ticket_ids: list[int]) -> dict[int, str]:
    """The start of each ticket's latest message from the citizen (one query for the page)."""
    if not ticket_ids:
        return {}
    latest = (
        select(func.max(Message.id))
        .where(col(Message.ticket_id).in_(ticket_ids), Message.direction == "in")
        .group_by(col(Message.ticket_id))
    )
    found = session.exec(
        select(Message.ticket_id, func.substr(Message.text, 1, EXCERPT * 2)).where(
            col(Message.id).in_(latest)
        )
    ).all()
    return {ticket_id: " ".join(text.split())[:EXCERPT] for ticket_id, text in found}


def channel_names(lang: str) -> dict[str, str]:
    return {
        "email": gettext(lang, "E-mail"),
        "sms": gettext(lang, "SMS"),
        "phone": gettext(lang, "Phone"),
        "telegram": "Telegram",
        "x": "X",
        "internal": gettext(lang, "Internal"),
    }


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, access: AccessDep, db: Db) -> HTMLResponse:
    f = Filters.of(request)
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
        statuses=OPEN,
    )


@router.post("/queue/next", response_model=None)
def take_next(request: Request, access: AccessDep, db: Db) -> Response:
    with db.write() as session:
        ticket = services.claim_next(session, access)
    if ticket is None:
        flash(request, gettext(language(request), "No request is waiting for you."))
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/tickets/{ticket.reference}", status_code=303)
