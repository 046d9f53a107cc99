"""The supervisors' dashboard: the figures of ``inbox.stats`` as charts and tables, and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from inbox import stats
from inbox.deps import Db, SupervisorAccess
from inbox.web import charts
from inbox.web.catalog import gettext
from inbox.web.labels import channel_names
from inbox.web.render import PAGE_HEADERS, language, page

router = APIRouter()
DEFAULT_DAYS = 30
MAX_DAYS = 366
CHOICES = (7, 30, 90, 365)
CHART_WIDTH, CHART_HEIGHT, ROW_HEIGHT = 600, 80, 26


def days_of(request: Request) -> int:
    asked = request.query_params.get("days", "")
    return max(1, min(int(asked), MAX_DAYS)) if asked.isdigit() else DEFAULT_DAYS


def duration(seconds: float | None, lang: str) -> str:
    """A response time as a supervisor reads it: "2 h 05 min", "45 min", "3 j 4 h"."""
    if seconds is None:
        return gettext(lang, "no answer yet")
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext(lang, "%(d)d d %(h)d h", d=days, h=hours)
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)} %"


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, access: SupervisorAccess, db: Db) -> HTMLResponse:
    lang = language(request)
    days = days_of(request)
    with db.read() as session:
        fig = stats.figures(session, stats.last_days(days))
    per_day = fig.per_day()

    def short(day: date) -> str:
        return format_date(day, "d MMM", locale=lang)

    volume_charts = [
        {
            "channel": channel,
            "total": sum(counts[channel] for _, counts in per_day),
            "peak": max(counts[channel] for _, counts in per_day),
            "bars": charts.columns(
                [(short(d), counts[channel]) for d, counts in per_day], CHART_WIDTH, CHART_HEIGHT
            ),
        }
        for channel in fig.channels
    ]
    no_team = gettext(lang, "No team")
    backlog = [(b.team or no_team, b.count) for b in fig.backlog]
    return page(
        request,
        "dashboard.html",
        access.agent,
        title=gettext(lang, "Dashboard"),
        days=days,
        choices=CHOICES,
        fig=fig,
        per_day=per_day,
        short=short,
        volume_charts=volume_charts,
        backlog=backlog,
        backlog_bars=charts.rows(backlog, CHART_WIDTH - 200, ROW_HEIGHT),
        median=duration(fig.median_first_response, lang),
        share=percent(fig.due.share),
        size=(CHART_WIDTH, CHART_HEIGHT, ROW_HEIGHT),
        channels=channel_names(lang),
    )


def csv_rows(fig: stats.Figures, lang: str) -> list[list[str | int]]:
    """The figures in long form, one per line: figure; day; channel; team; value.

    Figure names are fixed codes (formulas and scripts can rely on them); values are integers
    except the share, written with a decimal point."""
    header: list[str | int] = [
        gettext(lang, "figure"),
        gettext(lang, "day"),
        gettext(lang, "channel"),
        gettext(lang, "team"),
        gettext(lang, "value"),
    ]
    out: list[list[str | int]] = [header]
    for day, counts in fig.per_day():
        out += [["volume", day.isoformat(), c, "", n] for c, n in counts.items()]
    median = fig.median_first_response
    out.append(
        ["median_first_response_seconds", "", "", "", "" if median is None else round(median)]
    )
    out.append(["answered_within_due", "", "", "", fig.due.answered_in_time])
    out.append(["tickets_with_due", "", "", "", fig.due.with_due])
    share = fig.due.share
    out.append(["share_within_due", "", "", "", "" if share is None else f"{share:.4f}"])
    no_team = gettext(lang, "No team")
    out += [["backlog", "", "", b.team or no_team, b.count] for b in fig.backlog]
    return out


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, access: SupervisorAccess, db: Db) -> Response:
    """The dashboard's figures for a spreadsheet: UTF-8 with a BOM and ";" between fields,
    which is what a French Excel expects when it opens a file with a double click."""
    days = days_of(request)
    period = stats.last_days(days)
    with db.read() as session:
        fig = stats.figures(session, period)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(
        csv_rows(fig, language(request))
    )
    name = f"guichet-{period.days[0].isoformat()}-{period.days[-1].isoformat()}.csv"
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
