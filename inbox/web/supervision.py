"""The team board: each team's and agent's open, claimed and overdue tickets, and reassigning
one ticket or many at once (supervisors only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, or_, select

from gateway.core.clock import aware
from inbox import services, stats
from inbox.deps import Db, SettingsDep, SupervisorAccess
from inbox.errors import Invalid
from inbox.models import Agent, Team, Ticket
from inbox.permissions import Access
from inbox.web.catalog import gettext
from inbox.web.labels import channel_names
from inbox.web.refusals import on_refusal
from inbox.web.render import flash, language, page

router = APIRouter()
PAGE_SIZE = 100
MAX_BULK = 500  # a page shows 100; more in one request is not a person ticking boxes


@dataclass(frozen=True)
class Pick:
    """Which open tickets the list shows: an agent's ("none": the queue), a team's, a page."""

    agent: str = ""
    team: str = ""
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> Pick:
        p = request.query_params
        agent, team, number = p.get("agent", ""), p.get("team", ""), p.get("page", "1")
        return cls(
            agent=agent if agent == "none" or agent.isdigit() else "",
            team=team if team.isdigit() else "",
            page=max(1, min(int(number), 10_000)) if number.isdigit() else 1,
        )

    def query_string(self, **change: Any) -> str:
        values = {**self.__dict__, **change}
        pairs = {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}
        return "?" + urlencode(pairs) if pairs else ""


@dataclass
class AgentRow:
    agent: Agent
    open: int = 0
    overdue: int = 0
    claimed_today: int = 0


@dataclass
class TeamRow:
    """One team (``team`` None: tickets and agents without a team) and its agents."""

    team: Team | None
    open: int = 0
    claimed: int = 0
    overdue: int = 0
    queue: int = 0  # open and unassigned
    queue_overdue: int = 0
    agents: list[AgentRow] = field(default_factory=list)


def board(session: Session, now: datetime) -> list[TeamRow]:
    """Every team with its counts and agents; two GROUP BY queries, folded here."""
    loads = stats.loads(session, now)
    midnight = stats.paris_midnight(now.astimezone(stats.PARIS).date())
    claimed = stats.claimed_since(session, midnight)
    busy = {load.assignee_id for load in loads if load.assignee_id is not None}
    # Inactive agents still holding open tickets are shown: those tickets need a new owner.
    agents = session.exec(
        select(Agent)
        .where(or_(col(Agent.active), col(Agent.id).in_(sorted(busy))))
        .order_by(col(Agent.name))
    ).all()
    teams = {t.id: TeamRow(t) for t in session.exec(select(Team).order_by(col(Team.name)))}
    no_team = TeamRow(None)
    rows = {a.id: AgentRow(a, claimed_today=claimed.get(a.id or 0, 0)) for a in agents}
    for load in loads:
        team = teams.get(load.team_id, no_team)
        team.open += load.open
        team.overdue += load.overdue
        if load.assignee_id is None:
            team.queue += load.open
            team.queue_overdue += load.overdue
        else:
            team.claimed += load.open
            if load.assignee_id in rows:
                rows[load.assignee_id].open += load.open
                rows[load.assignee_id].overdue += load.overdue
    for row in rows.values():
        teams.get(row.agent.team_id, no_team).agents.append(row)
    shown = list(teams.values())
    if no_team.open or no_team.agents:
        shown.append(no_team)
    return shown


def ticket_list(session: Session, access: Access, pick: Pick) -> tuple[list[dict[str, Any]], bool]:
    """One page of open tickets, most urgent first, and whether there is a next one."""
    query = (
        select(Ticket, Agent, Team)
        .join(Agent, col(Agent.id) == Ticket.assignee_id, isouter=True)
        .join(Team, col(Team.id) == Ticket.team_id, isouter=True)
        .where(col(Ticket.status).in_(stats.OPEN), access.tickets())
    )
    if pick.agent == "none":
        query = query.where(col(Ticket.assignee_id).is_(None))
    elif pick.agent:
        query = query.where(Ticket.assignee_id == int(pick.agent))
    if pick.team:
        query = query.where(Ticket.team_id == int(pick.team))
    query = query.order_by(*services.queue_order())
    rows = session.exec(query.offset((pick.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    now = datetime.now(UTC)
    return [
        {
            "ticket": t,
            "assignee": a.name if a else "",
            "team": team.name if team else "",
            "overdue": t.due_at is not None and aware(t.due_at) < now,
        }
        for t, a, team in rows[:PAGE_SIZE]
    ], len(rows) > PAGE_SIZE


@router.get("/supervision", response_class=HTMLResponse)
def supervision_page(request: Request, access: SupervisorAccess, db: Db) -> HTMLResponse:
    pick = Pick.of(request)
    with db.read() as session:
        teams = board(session, datetime.now(UTC))
        rows, more = ticket_list(session, access, pick)
        agents = session.exec(select(Agent).where(col(Agent.active)).order_by(Agent.name)).all()
    return page(
        request,
        "supervision.html",
        access.agent,
        title=gettext(language(request), "Team board"),
        teams=teams,
        rows=rows,
        more=more,
        pick=pick,
        agents=agents,
        team_list=[t.team for t in teams if t.team is not None],
        channels=channel_names(language(request)),
    )


def _back_url(query: str) -> str:
    """Back to the board with the list's filters (only ever a query string on this page)."""
    safe = query if query.startswith("?") and "\n" not in query and "\r" not in query else ""
    return f"/supervision{safe}"


def _back(query: str) -> RedirectResponse:
    return RedirectResponse(_back_url(query), status_code=303)


@router.post("/supervision/assign")
def assign_many(
    request: Request,
    access: SupervisorAccess,
    db: Db,
    settings: SettingsDep,
    ticket: Annotated[list[int] | None, Form()] = None,
    agent_id: Annotated[str, Form()] = "",
    team_id: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Reassign the ticked tickets, all or none: the first refusal undoes the others."""
    lang = language(request)
    ids = sorted(set(ticket or []))
    if not ids or len(ids) > MAX_BULK:
        flash(request, gettext(lang, "Select between 1 and 500 tickets."), "error")
        return _back(back)
    agent = int(agent_id) if agent_id.isdigit() else None
    team = int(team_id) if team_id.isdigit() else None
    with db.write() as session:
        found = {t.id: t for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))}
        for ticket_id in ids:
            current = found.get(ticket_id)
            reference = current.reference if current else f"#{ticket_id}"
            # All or nothing: the first refusal rolls every reassignment back.
            say = "Nothing reassigned: %(reference)s: %(why)s."
            on_refusal(request, _back_url(back), say, reference=reference)
            if current is None or not access.may_view(current):
                raise Invalid("no such ticket")
            services.assign(
                session, access.agent, current, agent, team, settings.inbox.confidential_teams
            )
    flash(request, gettext(lang, "Tickets reassigned: %(count)d.", count=len(ids)))
    return _back(back)
