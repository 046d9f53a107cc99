"""The supervisors' pages over HTTP (team board, bulk reassignment, dashboard, CSV), and the
figures of ``inbox.stats`` on known data sets."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from gateway.core.db import Database
from inbox import stats
from inbox.models import Agent, AuditEvent, Role, Team, Ticket
from inbox.web import charts
from inbox.web.dashboard import duration
from tests import support
from tests.support import make_agent, signed_in

NOW = datetime.now(UTC)
TODAY = NOW.astimezone(stats.PARIS).date()
NOON = stats.paris_midnight(TODAY) + timedelta(hours=12)  # today, noon in Paris
HOUR = timedelta(hours=1)


def team_id(db: Database, name: str) -> int:
    with db.write() as s:
        team = s.exec(select(Team).where(Team.name == name)).first() or Team(name=name)
        s.add(team)
        s.flush()
        return team.id or 0


def add_ticket(db: Database, ref: str, **fields: Any) -> int:
    with db.write() as s:
        t = Ticket(reference=ref, subject=f"Sujet {ref}", channel=fields.pop("channel", "email"))
        for key, value in fields.items():
            setattr(t, key, value)
        s.add(t)
        s.flush()
        return t.id or 0


def cells(page: str, marker: str) -> list[str]:
    """The texts of the cells of the table row carrying ``marker`` (an attribute)."""
    row = re.search(rf"<tr[^>]*{re.escape(marker)}[^>]*>(.*?)</tr>", page, re.S)
    assert row, marker
    found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row[1], re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in found]


def table(page: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, table_id
    rows = re.findall(r"<tr>(.*?)</tr>", body[1], re.S)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def supervisor(client: TestClient, db: Database) -> None:
    signed_in(client, db, "sophie@mairie.example", role=Role.supervisor)


# Permissions


def test_agents_get_403_and_outsiders_are_sent_to_sign_in(client: TestClient, db: Database) -> None:
    pages = ["/supervision", "/dashboard", "/dashboard.csv"]
    for path in pages:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    token = support.csrf_of(client)
    assert client.post("/supervision/assign", data={"csrf_token": token}).status_code == 401
    signed_in(client, db, "karim@mairie.example")
    for path in pages:
        assert client.get(path).status_code == 403, path
    r = support.web_post(client, "/supervision/assign", {"ticket": "1", "agent_id": ""})
    assert r.status_code == 403


# Team board


def test_board_counts_per_agent_and_team(client: TestClient, db: Database) -> None:
    voirie, civil = team_id(db, "Voirie"), team_id(db, "État civil")
    alice, _ = make_agent(db, "alice@mairie.example", team="Voirie")
    bruno, _ = make_agent(db, "bruno@mairie.example", team="Voirie")
    chloe, _ = make_agent(db, "chloe@mairie.example", team="État civil")
    late, soon = NOW - HOUR, NOW + 24 * HOUR
    add_ticket(db, "A1", status="open", assignee_id=alice.id, team_id=voirie, due_at=late)
    add_ticket(db, "A2", status="waiting_citizen", assignee_id=alice.id, team_id=voirie)
    add_ticket(db, "A3", status="resolved", assignee_id=alice.id, team_id=voirie, due_at=late)
    add_ticket(db, "B1", status="open", assignee_id=bruno.id, team_id=civil, due_at=late)
    add_ticket(db, "Q1", status="new", team_id=voirie, due_at=late)
    add_ticket(db, "Q2", status="new", team_id=voirie, due_at=soon)
    add_ticket(db, "Q3", status="new")
    with db.write() as s:
        s.add(AuditEvent(actor_agent_id=alice.id, action="ticket.claimed"))
        s.add(AuditEvent(actor_agent_id=alice.id, action="ticket.claimed", at=NOW - 72 * HOUR))
    supervisor(client, db)
    page = client.get("/supervision").text
    # Agent, team, open assigned, taken today, overdue.
    assert cells(page, f'data-agent="{alice.id}"') == ["alice", "Voirie", "2", "1", "1"]
    assert cells(page, f'data-agent="{bruno.id}"') == ["bruno", "Voirie", "1", "0", "1"]
    assert cells(page, f'data-agent="{chloe.id}"') == ["chloe", "État civil", "0", "0", "0"]
    assert cells(page, f'data-queue="{voirie}"') == [
        "Non attribuées (file d'attente)",
        "Voirie",
        "2",
        "—",
        "1",
    ]
    assert cells(page, f'data-queue="{civil}"')[2:] == ["0", "—", "0"]
    assert cells(page, 'data-queue="none"')[1:] == ["Sans équipe", "1", "—", "0"]
    # Team, open, claimed, in the queue, overdue.
    teams = re.search(r'<table class="board teams">.*?</table>', page, re.S)
    assert teams
    rows = re.findall(
        r"<tr>\s*<th scope=\"row\"><a[^>]*>([^<]*)</a></th>(.*?)</tr>", teams[0], re.S
    )
    counts = {name: re.findall(r">(\d+)<", rest) for name, rest in rows}
    assert counts == {
        "Voirie": ["4", "2", "2", "2"],
        "État civil": ["1", "1", "0", "1"],
        "Sans équipe": ["1", "0", "1", "0"],
    }
    # The list: open tickets only, most urgent (earliest due) first, each with a checkbox.
    refs = re.findall(r'<tr data-reference="([^"]+)"', page)
    assert refs[:3] == ["A1", "B1", "Q1"] and sorted(refs) == ["A1", "A2", "B1", "Q1", "Q2", "Q3"]
    assert page.count('type="checkbox" name="ticket"') == 6
    assert 'hx-trigger="tickets-changed from:body"' in page and 'hx-select="#board"' in page
    mine = client.get(f"/supervision?agent={alice.id}").text
    assert re.findall(r'<tr data-reference="([^"]+)"', mine) == ["A1", "A2"]
    queue = client.get(f"/supervision?agent=none&team={voirie}").text
    assert re.findall(r'<tr data-reference="([^"]+)"', queue) == ["Q1", "Q2"]
    assert "Team board" in client.get("/supervision?lang=en").text


def test_bulk_reassignment_moves_all_and_audits_each(client: TestClient, db: Database) -> None:
    civil = team_id(db, "État civil")
    chloe, _ = make_agent(db, "chloe@mairie.example", team="État civil")
    ids = [add_ticket(db, f"T{n}", status="new") for n in range(3)]
    add_ticket(db, "T9", status="new")  # not ticked: stays where it is
    supervisor(client, db)
    r = client.post(
        "/supervision/assign",
        data={
            "ticket": [str(i) for i in ids],
            "agent_id": str(chloe.id),
            "team_id": str(civil),
            "back": "?agent=none",
            "csrf_token": support.csrf_of(client, "/supervision"),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/supervision?agent=none"
    with db.read() as s:
        moved = s.exec(select(Ticket).where(Ticket.reference != "T9")).all()
        assert {(t.assignee_id, t.team_id) for t in moved} == {(chloe.id, civil)}
        assert s.exec(select(Ticket).where(Ticket.reference == "T9")).one().assignee_id is None
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "ticket.assigned")).all()
        assert sorted(e.ticket_id or 0 for e in events) == ids
    assert "Demandes réattribuées : 3." in html.unescape(client.get(r.headers["location"]).text)
    # Back to the queue: no agent, team unchanged.
    support.web_post(client, "/supervision/assign", {"ticket": str(ids[0])}, "/supervision")
    with db.read() as s:
        back = s.get(Ticket, ids[0])
        assert back is not None and back.assignee_id is None and back.team_id == civil


def test_bulk_reassignment_with_a_social_file_changes_nothing(
    client: TestClient, db: Database
) -> None:
    social = team_id(db, "Action sociale")
    karim, _ = make_agent(db, "karim@mairie.example", team="Voirie")
    first = add_ticket(db, "OK-1", status="new")
    secret = add_ticket(db, "SOCIAL-1", status="new", team_id=social)
    last = add_ticket(db, "OK-2", status="new")
    supervisor(client, db)
    r = client.post(
        "/supervision/assign",
        data={
            "ticket": [str(first), str(secret), str(last)],
            "agent_id": str(karim.id),
            "csrf_token": support.csrf_of(client, "/supervision"),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.read() as s:
        assert {t.assignee_id for t in s.exec(select(Ticket)).all()} == {None}
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "ticket.assigned")).all() == []
    page = html.unescape(client.get("/supervision").text)
    assert "Aucune demande réattribuée : SOCIAL-1 : cet agent ne fait pas partie" in page


def test_bulk_reassignment_needs_a_selection(client: TestClient, db: Database) -> None:
    supervisor(client, db)
    r = support.web_post(client, "/supervision/assign", {"agent_id": ""}, "/supervision")
    assert r.status_code == 303
    assert "Sélectionnez entre 1 et 500 demandes." in html.unescape(client.get("/supervision").text)


# Dashboard


def known_figures(db: Database) -> dict[str, int]:
    """Four tickets in the last two days, one 40 days ago; answered after 1 h, 3 h, 2 h."""
    voirie, civil = team_id(db, "Voirie"), team_id(db, "État civil")
    yesterday = NOON - 24 * HOUR
    add_ticket(
        db,
        "D1",
        created_at=NOON,
        first_response_at=NOON + HOUR,
        due_at=NOON + 2 * HOUR,
        status="open",
        team_id=voirie,
    )
    add_ticket(
        db,
        "D2",
        created_at=NOON,
        first_response_at=NOON + 3 * HOUR,
        due_at=NOON + 2 * HOUR,
        status="open",
        team_id=voirie,
    )
    add_ticket(
        db,
        "D3",
        channel="sms",
        created_at=yesterday,
        first_response_at=yesterday + 2 * HOUR,
        status="waiting_citizen",
        team_id=civil,
    )
    add_ticket(db, "D4", channel="sms", created_at=yesterday, due_at=yesterday + HOUR, status="new")
    old = NOON - 40 * 24 * HOUR
    add_ticket(
        db,
        "D5",
        channel="phone",
        created_at=old,
        first_response_at=old + 10 * HOUR,
        due_at=old + 24 * HOUR,
        status="closed",
        team_id=voirie,
    )
    return {"voirie": voirie, "civil": civil}


def test_stats_on_a_known_data_set(db: Database) -> None:
    known_figures(db)
    period = stats.last_days(30)
    with db.read() as s:
        fig = stats.figures(s, period)
    yesterday = TODAY - timedelta(1)
    assert fig.volume == [
        stats.Volume(yesterday, "sms", 2),
        stats.Volume(TODAY, "email", 2),
    ]
    assert fig.median_first_response == 7200
    assert fig.due == stats.DueShare(1, 3)
    assert [(b.team, b.count) for b in fig.backlog] == [("Voirie", 2), ("", 1), ("État civil", 1)]
    assert len(fig.per_day()) == 30 and fig.per_day()[-1] == (TODAY, {"email": 2, "sms": 0})
    with db.read() as s:  # the old ticket alone, in its own period
        one_day = stats.Period(NOON - 41 * 24 * HOUR, NOON - 39 * 24 * HOUR)
        assert stats.median_first_response(s, one_day) == 36000
        assert stats.due_share(s, one_day).share == 1.0
        empty = stats.Period(NOON - 100 * 24 * HOUR, NOON - 99 * 24 * HOUR)
        assert stats.median_first_response(s, empty) is None
        assert stats.due_share(s, empty) == stats.DueShare(0, 0)
        assert stats.due_share(s, empty).share is None


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(db: Database) -> None:
    for n, minutes in enumerate([10, 20, 40, 1000]):
        add_ticket(
            db, f"M{n}", created_at=NOON, first_response_at=NOON + timedelta(minutes=minutes)
        )
    with db.read() as s:
        assert stats.median_first_response(s, stats.last_days(1, NOON)) == 30 * 60


def test_dashboard_page_shows_the_figures(client: TestClient, db: Database) -> None:
    known_figures(db)
    supervisor(client, db)
    page = html.unescape(client.get("/dashboard").text)
    assert '<p class="value" id="median">2 h 00 min</p>' in page
    assert '<p class="value" id="share">33 %</p>' in page
    volume = table(page, "volume-table")
    assert len(volume) == 30
    assert volume[-1][1:] == ["2", "0", "2"] and volume[-2][1:] == ["0", "2", "2"]
    assert all(row[1:] == ["0", "0", "0"] for row in volume[:-2])
    assert table(page, "backlog-table") == [
        ["Voirie", "2"],
        ["Sans équipe", "1"],
        ["État civil", "1"],
    ]
    assert page.count('role="img"') == 3  # e-mail, SMS, backlog
    assert "SMS : 2 demandes en 30 jours, au plus 2 en un jour." in page
    assert "Dashboard" in client.get("/dashboard?lang=en").text
    assert len(table(client.get("/dashboard?days=7").text, "volume-table")) == 7


def test_dashboard_csv_has_the_same_figures(client: TestClient, db: Database) -> None:
    known_figures(db)
    supervisor(client, db)
    r = client.get("/dashboard.csv?days=2")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM French Excel needs
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["indicateur", "jour", "canal", "équipe", "valeur"]
    yesterday = (TODAY - timedelta(1)).isoformat()
    assert rows[1:] == [
        ["volume", yesterday, "email", "", "0"],
        ["volume", yesterday, "sms", "", "2"],
        ["volume", TODAY.isoformat(), "email", "", "2"],
        ["volume", TODAY.isoformat(), "sms", "", "0"],
        ["median_first_response_seconds", "", "", "", "7200"],
        ["answered_within_due", "", "", "", "1"],
        ["tickets_with_due", "", "", "", "3"],
        ["share_within_due", "", "", "", "0.3333"],
        ["backlog", "", "", "Voirie", "2"],
        ["backlog", "", "", "Sans équipe", "1"],
        ["backlog", "", "", "État civil", "1"],
    ]


# Pure parts


def test_hours_fold_into_paris_days_across_daylight_saving() -> None:
    hours = [
        ("2026-03-28 22:00:00", "email", 1),  # 23:00 in Paris, winter time
        ("2026-03-28 23:00:00", "email", 2),  # 00:00 on the 29th
        (datetime(2026, 3, 29, 21), "email", 4),  # 23:00, summer time since 02:00
        (datetime(2026, 3, 29, 22), "sms", 8),  # 00:00 on the 30th
    ]
    assert stats.fold_days(hours) == [
        stats.Volume(date(2026, 3, 28), "email", 1),
        stats.Volume(date(2026, 3, 29), "email", 6),
        stats.Volume(date(2026, 3, 30), "sms", 8),
    ]


def test_last_days_are_whole_paris_days() -> None:
    period = stats.last_days(2, datetime(2026, 7, 1, 22, 30, tzinfo=UTC))  # 00:30 on 2 July
    assert period.start == datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert period.end == datetime(2026, 7, 2, 22, tzinfo=UTC)
    assert period.days == [date(2026, 7, 1), date(2026, 7, 2)]


def test_charts_scale_to_the_largest_value() -> None:
    bars = charts.columns([("a", 1), ("b", 4), ("c", 0)], 300, 100)
    assert [(b.height, b.y) for b in bars] == [(25, 75), (100, 0), (0, 100)]
    assert bars[1].x == pytest.approx(101) and bars[1].width == pytest.approx(98)
    assert [b.width for b in charts.rows([("x", 2), ("y", 1)], 200, 20)] == [200, 100]
    assert charts.columns([], 300, 100) == [] and charts.rows([], 10, 10) == []


def test_durations_read_at_a_glance() -> None:
    assert duration(7200, "fr") == "2 h 00 min"
    assert duration(45 * 60 + 10, "fr") == "45 min"
    assert duration(3 * 86400 + 4 * 3600, "fr") == "3 j 4 h"
    assert duration(None, "en") == "no answer yet"


def test_inactive_agents_holding_tickets_stay_on_the_board(
    client: TestClient, db: Database
) -> None:
    gone, _ = make_agent(db, "parti@mairie.example")
    add_ticket(db, "G1", status="open", assignee_id=gone.id)
    with db.write() as s:
        agent = s.get(Agent, gone.id)
        assert agent is not None
        agent.active = False
        s.add(agent)
    supervisor(client, db)
    page = client.get("/supervision").text
    assert cells(page, f'data-agent="{gone.id}"')[0] == "parti inactif"
