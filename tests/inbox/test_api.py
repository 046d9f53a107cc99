"""The inbox API from the sides of an agent, a supervisor and an outsider."""

from __future__ import annotations

import html
from email import message_from_bytes, policy

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from channels.email.send import render
from gateway.core.db import Database
from gateway.core.models import OutboxItem
from inbox.models import Role, Team, Ticket
from tests import support
from tests.conftest import Intake
from tests.support import PASSWORD, make_agent, make_mail


@pytest.fixture
def agent(db: Database) -> dict[str, str]:
    return make_agent(db, "karim@mairie.example")[1]


@pytest.fixture
def supervisor(db: Database) -> dict[str, str]:
    return make_agent(db, "sophie@mairie.example", Role.supervisor)[1]


def test_every_response_says_how_long_the_app_took(
    client: TestClient, agent: dict[str, str]
) -> None:
    # bench/inbox.py reads it: the time at the server, apart from the client and the network.
    for response in (
        client.get("/api/v1/tickets", headers=agent),
        client.get("/api/v1/tickets"),  # a 401 is timed too
        client.get("/", headers=agent),
    ):
        name, _, duration = response.headers["server-timing"].partition(";dur=")
        assert name == "app" and float(duration) >= 0


def test_outsider_gets_401_everywhere(client: TestClient, intake: Intake) -> None:
    intake(make_mail())
    for method, path in [
        ("GET", "/api/v1/tickets"),
        ("GET", "/api/v1/tickets/1"),
        ("POST", "/api/v1/queue/next"),
        ("GET", "/api/v1/quarantine"),
        ("POST", "/api/v1/tickets/1/notes"),
    ]:
        assert client.request(method, path, json={"text": "x"}).status_code == 401, path
    bad = {"Authorization": "Bearer gch_forged"}
    assert client.get("/api/v1/tickets", headers=bad).status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"


def test_agent_gets_403_on_supervisor_actions(
    client: TestClient, intake: Intake, agent: dict[str, str]
) -> None:
    intake(make_mail())
    assert (
        client.post("/api/v1/tickets/1/assign", json={"agent_id": None}, headers=agent).status_code
        == 403
    )
    assert client.get("/api/v1/quarantine", headers=agent).status_code == 403
    assert client.get("/api/v1/tickets/1/audit", headers=agent).status_code == 403


def test_tickets_show_and_filter_by_category(
    client: TestClient, intake: Intake, agent: dict[str, str]
) -> None:
    intake(make_mail(subject="Nid de poule", body="Rue Victor Hugo."))
    intake(make_mail(subject="Question", body="Horaires d'ouverture ?"))
    intake(make_mail(subject="Trottoir", body="Trottoir défoncé avenue Foch."))

    def subjects(query: str) -> list[tuple[str, str]]:
        items = client.get(f"/api/v1/tickets{query}", headers=agent).json()["items"]
        return [(t["subject"], t["category"]) for t in items]

    assert subjects("?category=voirie") == [("Trottoir", "voirie"), ("Nid de poule", "voirie")]
    assert subjects("?category=") == [("Question", "")]
    assert subjects("?category=urbanisme") == []
    assert len(subjects("")) == 3
    detail = client.get("/api/v1/tickets/1", headers=agent).json()
    assert detail["category"] == "voirie" and detail["due_at"]


def test_list_filters_and_cursor_pagination(
    client: TestClient, intake: Intake, agent: dict[str, str]
) -> None:
    for n in range(7):
        intake(make_mail(sender=f"Usager {n} <u{n}@example.fr>", subject=f"Demande {n}"))
    seen: list[str] = []
    url = "/api/v1/tickets?limit=3"
    while url:
        page = client.get(url, headers=agent).json()
        seen += [t["subject"] for t in page["items"]]
        url = f"/api/v1/tickets?limit=3&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == [f"Demande {n}" for n in reversed(range(7))]
    first = client.post("/api/v1/queue/next", headers=agent).json()
    mine = client.get("/api/v1/tickets?assignee=me", headers=agent).json()["items"]
    assert [t["id"] for t in mine] == [first["id"]]
    assert (
        len(client.get("/api/v1/tickets?assignee=none&status=new", headers=agent).json()["items"])
        == 6
    )
    assert client.get("/api/v1/tickets?channel=sms", headers=agent).json()["items"] == []
    citizen = first["citizen_id"]
    assert [
        t["id"]
        for t in client.get(f"/api/v1/tickets?citizen={citizen}", headers=agent).json()["items"]
    ] == [first["id"]]


def test_detail_has_the_whole_thread(
    client: TestClient, intake: Intake, agent: dict[str, str]
) -> None:
    intake(
        make_mail(
            body="Bonjour,\nma question.\n\nLe 3 mars 2026 à 10:02, Mairie a écrit :\n> ancien"
        )
    )
    detail = client.get("/api/v1/tickets/1", headers=agent).json()
    by_ref = client.get(f"/api/v1/tickets/{detail['reference'].lower()}", headers=agent).json()
    assert by_ref["id"] == detail["id"]
    assert [m["direction"] for m in detail["messages"]] == ["in", "out"]
    first = detail["messages"][0]
    assert first["text"][first["quote_start"] :].startswith("Le 3 mars 2026")
    assert detail["citizen"]["contacts"] == ["marie.dupont@orange.fr"]
    assert detail["messages"][1]["delivery"] == "pending"


def test_queue_next_claims_most_urgent_then_204(
    client: TestClient, db: Database, intake: Intake, agent: dict[str, str]
) -> None:
    intake(make_mail(subject="Ancien"))
    intake(make_mail(sender="b@example.fr", subject="Urgent"))
    with db.write() as s:
        urgent = s.exec(select(Ticket).where(Ticket.subject == "Urgent")).one()
        urgent.priority = 10
    assert client.post("/api/v1/queue/next", headers=agent).json()["subject"] == "Urgent"
    claimed = client.post("/api/v1/queue/next", headers=agent).json()
    assert claimed["subject"] == "Ancien" and claimed["status"] == "open"
    assert client.post("/api/v1/queue/next", headers=agent).status_code == 204


def test_agents_claim_only_their_team_or_unrouted(
    client: TestClient, db: Database, intake: Intake
) -> None:
    _, civil = make_agent(db, "lucie@mairie.example", team="État civil")
    intake(make_mail(subject="Voirie"))
    with db.write() as s:
        voirie = Team(name="Voirie")
        s.add(voirie)
        s.flush()
        s.exec(select(Ticket)).one().team_id = voirie.id
    assert client.post("/api/v1/queue/next", headers=civil).status_code == 204


def test_reply_goes_out_threaded_with_reference(
    client: TestClient, db: Database, intake: Intake, agent: dict[str, str]
) -> None:
    intake(make_mail(message_id="question@orange.fr"))
    ticket = client.post("/api/v1/queue/next", headers=agent).json()
    r = client.post(
        f"/api/v1/tickets/{ticket['id']}/reply",
        headers=agent,
        json={"text": "Madame,\nVotre acte vous sera envoyé par courrier.\nLa mairie"},
    )
    assert r.status_code == 201
    with db.read() as s:
        out = s.exec(select(OutboxItem).where(OutboxItem.kind == "reply")).one()
    mail = message_from_bytes(
        render(intake.settings, out.recipient, out.content), policy=policy.default
    )
    assert mail["To"] == "marie.dupont@orange.fr"
    assert ticket["reference"] in mail["Subject"] and mail["Subject"].startswith("Re: ")
    assert mail["In-Reply-To"] == "<question@orange.fr>"
    assert "<question@orange.fr>" in mail["References"]
    assert "envoyé par courrier" in mail.get_content()
    assert (
        client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent).json()["status"]
        == "waiting_citizen"
    )


def test_agent_cannot_act_on_a_colleagues_ticket(
    client: TestClient, db: Database, intake: Intake, agent: dict[str, str]
) -> None:
    _, other = make_agent(db, "autre@mairie.example")
    intake(make_mail())
    client.post("/api/v1/queue/next", headers=other)
    assert (
        client.post("/api/v1/tickets/1/reply", headers=agent, json={"text": "x"}).status_code == 403
    )
    assert (
        client.post(
            "/api/v1/tickets/1/status", headers=agent, json={"status": "closed"}
        ).status_code
        == 403
    )


def test_supervisor_reassigns_and_everything_is_audited(
    client: TestClient,
    db: Database,
    intake: Intake,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    karim = client.get("/api/v1/me", headers=agent).json()
    intake(make_mail())
    client.post("/api/v1/queue/next", headers=supervisor)
    r = client.post("/api/v1/tickets/1/assign", headers=supervisor, json={"agent_id": karim["id"]})
    assert r.status_code == 200 and r.json()["assignee_id"] == karim["id"]
    client.post("/api/v1/tickets/1/notes", headers=agent, json={"text": "Appelée, rappel demain"})
    client.post("/api/v1/tickets/1/status", headers=agent, json={"status": "resolved"})
    events = client.get("/api/v1/tickets/1/audit", headers=supervisor).json()
    assert [e["action"] for e in events] == [
        "ticket.created",
        "ticket.routed",  # the birth certificate request: config/routing.toml's etat-civil
        "ticket.claimed",
        "ticket.assigned",
        "ticket.note",
        "ticket.status",
    ]
    assert events[1]["detail"] == {"category": "etat-civil"} and events[1]["actor_agent_id"] is None
    assert events[3]["actor_agent_id"] != events[4]["actor_agent_id"] == karim["id"]
    assert events[5]["detail"] == {"before": "open", "after": "resolved"}
    notes = [
        m
        for m in client.get("/api/v1/tickets/1", headers=agent).json()["messages"]
        if m["direction"] == "note"
    ]
    assert notes[0]["text"] == "Appelée, rappel demain"
    assert (
        client.post(
            "/api/v1/tickets/1/assign", headers=supervisor, json={"agent_id": 999}
        ).status_code
        == 422
    )
    assert (
        client.post("/api/v1/tickets/1/status", headers=agent, json={"status": "lost"}).status_code
        == 422
    )


def test_quarantine_list_download_replay(
    client: TestClient, db: Database, intake: Intake, supervisor: dict[str, str]
) -> None:
    raw = b"Subject: sans exp\xe9diteur\r\n\r\ntexte\r\n"
    item_id = intake(raw)
    [item] = client.get("/api/v1/quarantine", headers=supervisor).json()
    assert item["id"] == item_id and item["status"] == "quarantined" and item["size"] == len(raw)
    assert client.get(item["raw_url"], headers=supervisor).content == raw
    assert (
        client.post(f"/api/v1/quarantine/{item_id}/replay", headers=supervisor).status_code == 202
    )
    intake.pipeline.process_one()
    assert (
        len(client.get("/api/v1/quarantine", headers=supervisor).json()) == 1
    )  # still unparseable


def test_attachment_download_is_never_rendered(
    client: TestClient, intake: Intake, agent: dict[str, str]
) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.fr", "contact@mairie.example", "Photo"
    msg.set_content("voir la pièce jointe")
    msg.add_attachment(
        b"<script>alert(1)</script>", maintype="text", subtype="html", filename="piège.html"
    )
    intake(msg.as_bytes())
    [att] = client.get("/api/v1/tickets/1", headers=agent).json()["messages"][0]["attachments"]
    r = client.get(att["url"], headers=agent)
    assert r.content == b"<script>alert(1)</script>"
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in r.headers["content-disposition"]


def test_login_session_and_queue_page(client: TestClient, db: Database, intake: Intake) -> None:
    make_agent(db, "karim@mairie.example")
    intake(make_mail(subject="Nid-de-poule rue Jean Jaurès"))
    forged = client.post("/login", data={"email": "karim@mairie.example", "password": PASSWORD})
    assert forged.status_code == 403  # no CSRF token: refused before the password is looked at
    bad = support.web_login(client, "karim@mairie.example", "faux")
    assert bad.status_code == 401 and "mot de passe incorrect" in html.unescape(bad.text)
    r = support.web_login(client, "Karim@mairie.example", PASSWORD)
    assert r.status_code == 303
    page = html.unescape(client.get("/").text)
    assert "File d'attente (1)" in page and "Nid-de-poule rue Jean Jaurès" in page
    assert "Marie Dupont" in page and "Non attribuée" in page
    assert (
        client.get("/api/v1/me").json()["email"] == "karim@mairie.example"
    )  # the session works for the API
    assert "Queue (1)" in client.get("/?lang=en").text
    assert support.web_post(client, "/logout", {}).status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_health_and_metrics(client: TestClient, intake: Intake) -> None:
    intake(make_mail())
    assert client.get("/healthz").json() == {"status": "ok"}
    text = client.get("/metrics").text
    assert "guichet_queue_depth 1.0" in text
    assert "guichet_journal_pending 0.0" in text
    assert "guichet_pipeline_latency_seconds_count" in text
    assert "guichet_messages_received_total" in text or "guichet_messages_received" in text


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/tickets", "/api/v1/queue/next", "/api/v1/quarantine"} <= set(paths)
    assert client.get("/docs").status_code == 200
