"""What agents read: the ticket lists and the queue, for the API and the pages alike.

One filter (``TicketFilter``) says which tickets a list holds; ``where`` turns it into SQL with
the permission rules (``Access.tickets``) always applied. The API lists tickets newest first
with a cursor; the queue shows open ones most urgent first, a page at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from gateway.core.clock import aware
from inbox import services
from inbox.models import OPEN_STATUSES, Agent, Citizen, Message, Ticket
from inbox.permissions import Access

PAGE_SIZE = 50
EXCERPT = 140
COUNT_CAP = 1000  # counting further would cost more than an agent gains from the exact figure
VIEWS = ("all", "mine", "team", "unassigned")


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets a list holds; ``None`` leaves a criterion out."""

    statuses: Sequence[str] = ()  # any of them; empty: every status
    assignee: int | str | None = None  # an agent's id, or "none" for unassigned
    team: int | None = None
    channel: str | None = None
    category: str | None = None
    citizen: int | None = None
    needs_review: bool | None = None
    text: str = ""  # a reference, or words of the subject
    before_id: int | None = None  # the API's cursor


def where(query: Any, access: Access, f: TicketFilter) -> Any:
    """``query`` (over Ticket) cut to the tickets ``f`` names that ``access`` may see."""
    query = query.where(access.tickets())
    if f.statuses:
        query = query.where(col(Ticket.status).in_(list(f.statuses)))
    if f.assignee == "none":
        query = query.where(col(Ticket.assignee_id).is_(None))
    elif f.assignee is not None:
        query = query.where(Ticket.assignee_id == int(f.assignee))
    for column, value in (
        (Ticket.team_id, f.team),
        (Ticket.channel, f.channel),
        (Ticket.category, f.category),
        (Ticket.citizen_id, f.citizen),
        (Ticket.needs_review, f.needs_review),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.text:
        query = query.where(
            or_(Ticket.reference == f.text.upper(), col(Ticket.subject).ilike(f"%{f.text}%"))
        )
    if f.before_id is not None:
        query = query.where(col(Ticket.id) < f.before_id)
    return query


def ticket_list(
    session: Session, access: Access, f: TicketFilter, limit: int
) -> tuple[list[Ticket], bool]:
    """Up to ``limit`` tickets, newest first, and whether there are more."""
    query = where(select(Ticket), access, f).order_by(col(Ticket.id).desc()).limit(limit + 1)
    rows = list(session.exec(query).all())
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True)
class Queue:
    """The queue page's filters, as its URL carries them."""

    view: str = "all"
    channel: str = ""
    status: str = ""
    review: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Queue:
        view = params.get("view", "all")
        status = params.get("status", "")
        number = params.get("page", "1")
        return cls(
            view=view if view in VIEWS else "all",
            channel=params.get("channel", "")[:20],
            status=status if status in OPEN_STATUSES else "",
            review=params.get("review") == "1",
            q=params.get("q", "").strip()[:100],
            page=max(1, min(int(number), 1000)) if number.isdigit() else 1,
        )

    def tickets(self, agent: Agent) -> TicketFilter:
        """The tickets these filters show to ``agent``: open ones unless a status is chosen."""
        return TicketFilter(
            statuses=[self.status] if self.status else OPEN_STATUSES,
            assignee={"mine": agent.id, "unassigned": "none"}.get(self.view),
            # An agent in no team has no team's tickets (no team has the id 0).
            team=(agent.team_id or 0) if self.view == "team" else None,
            channel=self.channel or None,
            needs_review=True if self.review else None,
            text=self.q,
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


def queue_query(access: Access, f: Queue) -> Any:
    """The page's query (one row more than a page, to know whether there is a next one).

    Tickets are ordered and cut to a page first, then joined to their citizen and agent: joining
    every open ticket before sorting them cost 75 ms at 100,000 tickets on SQLite.
    """
    page = (
        where(sa.select(col(Ticket.id)), access, f.tickets(access.agent))
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


def queue_rows(session: Session, access: Access, f: Queue) -> tuple[list[dict[str, Any]], bool]:
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


def queue_count(session: Session, access: Access, f: Queue) -> int:
    """How many tickets match, up to COUNT_CAP."""
    capped = where(select(Ticket.id), access, f.tickets(access.agent)).limit(COUNT_CAP).subquery()
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
