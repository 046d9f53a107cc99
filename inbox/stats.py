"""The supervisors' figures: volume per channel per day, first-response time, due-time share,
backlog by team, and the team board's counts.

Each function takes a Session and returns plain dataclasses; every figure is one aggregate
query (the production database holds millions of tickets: nothing is counted in Python).
Days are days in Paris, the town hall's own calendar.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, case, cast, extract, func
from sqlmodel import Session, col, select

from inbox.models import OPEN_STATUSES, AuditEvent, Team, Ticket

PARIS = ZoneInfo("Europe/Paris")
OPEN = OPEN_STATUSES


@dataclass(frozen=True)
class Period:
    """Tickets created from ``start`` (included) to ``end`` (excluded), both aware."""

    start: datetime
    end: datetime

    @property
    def days(self) -> list[date]:
        first = self.start.astimezone(PARIS).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(PARIS).date()
        return [first + timedelta(n) for n in range((last - first).days + 1)]


def paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), PARIS).astimezone(UTC)


def last_days(days: int, now: datetime | None = None) -> Period:
    """The last ``days`` whole days in Paris, today included."""
    today = (now or datetime.now(UTC)).astimezone(PARIS).date()
    return Period(paris_midnight(today - timedelta(days - 1)), paris_midnight(today + timedelta(1)))


@dataclass(frozen=True)
class Volume:
    day: date
    channel: str
    count: int


@dataclass(frozen=True)
class DueShare:
    answered_in_time: int
    with_due: int

    @property
    def share(self) -> float | None:
        return self.answered_in_time / self.with_due if self.with_due else None


@dataclass(frozen=True)
class TeamBacklog:
    team_id: int | None
    team: str  # "" when the tickets have no team
    count: int


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _hour(session: Session) -> Any:
    """The UTC hour a ticket was created in (text on SQLite, a timestamp on PostgreSQL)."""
    if _dialect(session) == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", Ticket.created_at))
    return func.strftime("%Y-%m-%d %H:00:00", Ticket.created_at)


def _in(period: Period) -> Any:
    return (col(Ticket.created_at) >= period.start) & (col(Ticket.created_at) < period.end)


def fold_days(hours: list[tuple[Any, str, int]]) -> list[Volume]:
    """Hourly UTC counts folded into Paris days (Paris is always a whole number of hours
    from UTC, so an hour never straddles two days)."""
    totals: dict[tuple[date, str], int] = defaultdict(int)
    for hour, channel, count in hours:
        moment = hour if isinstance(hour, datetime) else datetime.fromisoformat(str(hour))
        day = moment.replace(tzinfo=UTC).astimezone(PARIS).date()
        totals[(day, channel)] += int(count)
    return [Volume(day, channel, n) for (day, channel), n in sorted(totals.items())]


def volume(session: Session, period: Period) -> list[Volume]:
    """Tickets created per Paris day and channel (days and channels with none left out).

    Grouped by UTC hour in SQL, then folded into Paris days: portable (SQLite has no time
    zones), exact across daylight-saving changes, and at most 24 rows per day and channel."""
    hour = _hour(session)
    rows = session.exec(
        select(hour, Ticket.channel, func.count())
        .where(_in(period))
        .group_by(hour, col(Ticket.channel))
    ).all()
    return fold_days([(h, c, n) for h, c, n in rows])


def _response_seconds(session: Session) -> Any:
    if _dialect(session) == "postgresql":
        return extract("epoch", col(Ticket.first_response_at) - col(Ticket.created_at))
    return (func.julianday(Ticket.first_response_at) - func.julianday(Ticket.created_at)) * 86400.0


def median_first_response(session: Session, period: Period) -> float | None:
    """Median seconds from a ticket's creation to its first reply, over the answered tickets
    created in ``period``; None when none was answered.

    PostgreSQL computes it itself (percentile_cont, one pass, nothing sent back but the
    figure). SQLite has no percentile function: it counts, then reads back the one or two
    middle values by ORDER BY … OFFSET, the same interpolated median, still nothing loaded."""
    seconds = _response_seconds(session)
    answered = _in(period) & col(Ticket.first_response_at).is_not(None)
    if _dialect(session) == "postgresql":
        median = func.percentile_cont(0.5).within_group(cast(seconds, Float))
        value = session.exec(select(median).where(answered)).one()
        return None if value is None else round(float(value), 3)
    n = session.exec(select(func.count()).where(answered)).one()
    if not n:
        return None
    middle = session.exec(
        select(seconds).where(answered).order_by(seconds).offset((n - 1) // 2).limit(2 - n % 2)
    ).all()
    return round(sum(float(v) for v in middle) / len(middle), 3)


def due_share(session: Session, period: Period) -> DueShare:
    """Among tickets created in ``period`` with a due date, how many had their first reply by
    then (those not answered yet count as not in time)."""
    in_time = case((col(Ticket.first_response_at) <= col(Ticket.due_at), 1), else_=0)
    answered, total = session.exec(
        select(func.coalesce(func.sum(in_time), 0), func.count()).where(
            _in(period), col(Ticket.due_at).is_not(None)
        )
    ).one()
    return DueShare(int(answered), int(total))


def backlog(session: Session) -> list[TeamBacklog]:
    """Open tickets per team, largest first; tickets with no team are one more line."""
    rows = session.exec(
        select(Ticket.team_id, Team.name, func.count())
        .join(Team, col(Team.id) == Ticket.team_id, isouter=True)
        .where(col(Ticket.status).in_(OPEN))
        .group_by(col(Ticket.team_id), col(Team.name))
    ).all()
    found = [TeamBacklog(team_id, name or "", int(n)) for team_id, name, n in rows]
    return sorted(found, key=lambda b: (-b.count, b.team))


@dataclass(frozen=True)
class Load:
    """Open tickets of one (assignee, team) pair: how many, and how many past their due date."""

    assignee_id: int | None
    team_id: int | None
    open: int
    overdue: int


def loads(session: Session, now: datetime | None = None) -> list[Load]:
    """The team board's counts: open and overdue tickets per assignee and team, one query."""
    late = case((col(Ticket.due_at) < (now or datetime.now(UTC)), 1), else_=0)
    rows = session.exec(
        select(Ticket.assignee_id, Ticket.team_id, func.count(), func.sum(late))
        .where(col(Ticket.status).in_(OPEN))
        .group_by(col(Ticket.assignee_id), col(Ticket.team_id))
    ).all()
    return [Load(a, t, int(n), int(o or 0)) for a, t, n, o in rows]


def claimed_since(session: Session, since: datetime) -> dict[int, int]:
    """How many tickets each agent took from the queue since ``since``, from the audit log."""
    rows = session.exec(
        select(AuditEvent.actor_agent_id, func.count())
        .where(AuditEvent.action == "ticket.claimed", col(AuditEvent.at) >= since)
        .group_by(col(AuditEvent.actor_agent_id))
    ).all()
    return {agent_id: int(n) for agent_id, n in rows if agent_id is not None}


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard shows for one period."""

    period: Period
    volume: list[Volume]
    median_first_response: float | None  # seconds
    due: DueShare
    backlog: list[TeamBacklog]

    @property
    def channels(self) -> list[str]:
        return sorted({v.channel for v in self.volume})

    def per_day(self) -> list[tuple[date, dict[str, int]]]:
        """Every day of the period (none left out) with its count per channel."""
        grid = {(v.day, v.channel): v.count for v in self.volume}
        return [(d, {c: grid.get((d, c), 0) for c in self.channels}) for d in self.period.days]


def figures(session: Session, period: Period) -> Figures:
    return Figures(
        period,
        volume(session, period),
        median_first_response(session, period),
        due_share(session, period),
        backlog(session),
    )
