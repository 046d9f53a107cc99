"""The agents' pages over HTTP: forms, CSRF, permissions and confidential teams.

The same flows run in a real browser under tests/e2e/browser; these check every rule cheaply.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy

from fastapi.testclient import TestClient
from sqlmodel import col, select

from gateway.core.db import Database
from gateway.core.models import OutboxItem
from inbox.models import Message, Role, Ticket
from inbox.teams import team_id
from tests import support
from tests.conftest import Intake
from tests.support import PASSWORD, make_agent, make_mail, signed_in, text


def ticket(db: Database, number: int = 1) -> Ticket:
    with db.read() as s:
        return s.exec(select(Ticket).order_by(col(Ticket.id)).offset(number - 1).limit(1)).one()


def test_every_page_sends_an_outsider_to_sign_in(client: TestClient, intake: Intake) -> None:
    intake(make_mail())
    ref = "/tickets/X"
    for path in ["/", ref, "/events", "/attachments/1/preview", f"{ref}/messages/1/html"]:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    for path in ["/queue/next", f"{ref}/reply", f"{ref}/note", f"{ref}/status", f"{ref}/assign"]:
        r = client.post(path, data={"csrf_token": support.csrf_of(client)})
        assert r.status_code == 401, path


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, db: Database, intake: Intake
) -> None:
    intake(make_mail())
    signed_in(client, db, "karim@mairie.example")
    ref = ticket(db).reference
    for path in ["/queue/next", f"/tickets/{ref}/note", "/logout"]:
        assert client.post(path, data={"text": "x"}).status_code == 403, path
        forged = client.post(path, data={"text": "x", "csrf_token": "forged"})
        assert forged.status_code == 403, path
    with db.read() as s:
        assert s.exec(select(Message).where(Message.direction == "note")).first() is None
        assert ticket(db).assignee_id is None


def test_take_next_reply_note_resolve(client: TestClient, db: Database, intake: Intake) -> None:
    intake(make_mail(subject="Acte de naissance", body="Bonjour, il me faut un acte."))
    signed_in(client, db, "karim@mairie.example")
    r = support.web_post(client, "/queue/next", {})
    ref = ticket(db).reference
    assert r.status_code == 303 and r.headers["location"] == f"/tickets/{ref}"
    page = text(client.get(r.headers["location"]))
    assert "Acte de naissance" in page and "il me faut un acte" in page
    assert "marie.dupont@orange.fr" in page  # the sender, on the message
    assert "Catégorie : État civil" in page  # routed by config/routing.toml
    here = f"/tickets/{ref}"
    r = support.web_post(
        client,
        f"{here}/reply",
        {"text": "Voici la marche à suivre.", "target": "email|marie.dupont@orange.fr"},
        here,
    )
    assert r.status_code == 303
    support.web_post(client, f"{here}/note", {"text": "Appelé la mère"}, here)
    support.web_post(client, f"{here}/status", {"status": "resolved"}, here)
    page = text(client.get(here))
    assert "Voici la marche à suivre." in page and "Appelé la mère" in page
    assert "Réponse mise en file d'envoi." not in page  # shown once, on the redirect target only
    t = ticket(db)
    assert t.status == "resolved" and t.first_response_at is not None
    with db.read() as s:
        [out] = s.exec(select(OutboxItem).where(OutboxItem.kind == "reply")).all()
        assert out.recipient == "marie.dupont@orange.fr"
    assert "réponse envoyée" in page and "note interne" in page  # the history panel


def test_canned_answer_fills_the_composer(client: TestClient, db: Database, intake: Intake) -> None:
    intake(make_mail())
    signed_in(client, db, "karim@mairie.example")
    ref = ticket(db).reference
    page = text(client.get(f"/tickets/{ref}?canned=piece-manquante"))
    composer = re.search(r'<textarea id="reply-text"[^>]*>(.*?)</textarea>', page, re.S)
    assert composer and f"(référence {ref})" in composer[1]
    assert "Bonjour Marie Dupont" in composer[1] and "karim" in composer[1]


def test_agent_cannot_act_on_another_agents_ticket(
    client: TestClient, db: Database, intake: Intake
) -> None:
    intake(make_mail())
    _lea, headers = make_agent(db, "lea@mairie.example")
    client.post("/api/v1/queue/next", headers=headers)  # Léa takes it
    signed_in(client, db, "karim@mairie.example")
    here = f"/tickets/{ticket(db).reference}"
    page = text(client.get(here))
    assert "attribuée à un autre agent" in page
    r = support.web_post(client, f"{here}/status", {"status": "resolved"}, here)
    assert r.status_code == 403
    assert ticket(db).status == "open"


def test_confidential_team_is_invisible_to_other_agents(
    client: TestClient, db: Database, intake: Intake
) -> None:
    intake(make_mail(subject="Demande d'aide sociale"))
    intake(make_mail(subject="Trottoir abîmé", sender="Paul Martin <paul@example.fr>"))
    with db.write() as s:
        social = team_id(s, "Action sociale")
        first = s.exec(select(Ticket).order_by(col(Ticket.id))).first()
        assert first is not None
        first.team_id = social
        s.add(first)
    secret = ticket(db).reference
    signed_in(client, db, "karim@mairie.example", team="Voirie")
    queue = text(client.get("/"))
    assert "Trottoir abîmé" in queue and "aide sociale" not in queue
    assert "File d'attente (1)" in queue
    assert client.get(f"/tickets/{secret}").status_code == 404
    assert client.get(f"/api/v1/tickets/{secret}", headers={}).status_code == 404
    here = f"/tickets/{secret}"
    token = support.csrf_of(client, "/")
    for action in ["note", "status", "reply", "take"]:
        r = client.post(f"{here}/{action}", data={"csrf_token": token, "text": "x"})
        assert r.status_code in (404, 422), action
    r = support.web_post(client, "/queue/next", {})
    assert "Trottoir" in text(client.get(r.headers["location"]))  # never the social file
    items = client.get("/api/v1/tickets").json()["items"]
    assert [t["subject"] for t in items] == ["Trottoir abîmé"]


def test_confidential_team_sees_its_files_and_supervisors_see_all(
    client: TestClient, db: Database, intake: Intake
) -> None:
    intake(make_mail(subject="Demande d'aide sociale"))
    with db.write() as s:
        social = team_id(s, "Action sociale")
        t = s.exec(select(Ticket)).one()
        t.team_id = social
        s.add(t)
    signed_in(client, db, "ines@mairie.example", team="Action sociale")
    assert "aide sociale" in text(client.get("/"))
    support.web_post(client, "/logout", {})
    signed_in(client, db, "sophie@mairie.example", role=Role.supervisor)
    assert "aide sociale" in text(client.get("/"))


def test_supervisor_cannot_hand_a_social_file_to_an_outside_agent(
    client: TestClient, db: Database, intake: Intake
) -> None:
    intake(make_mail(subject="Demande d'aide sociale"))
    outsider, _ = make_agent(db, "karim@mairie.example", team="Voirie")
    with db.write() as s:
        social = team_id(s, "Action sociale")
        t = s.exec(select(Ticket)).one()
        t.team_id = social
        s.add(t)
    signed_in(client, db, "sophie@mairie.example", role=Role.supervisor)
    here = f"/tickets/{ticket(db).reference}"
    support.web_post(client, f"{here}/assign", {"agent_id": str(outsider.id)}, here)
    assert ticket(db).assignee_id is None
    assert "ne fait pas partie de l'équipe confidentielle" in text(client.get(here))


def test_email_html_is_framed_sanitized_and_remote_images_wait(
    client: TestClient, db: Database, intake: Intake
) -> None:
    body = (
        '<p onclick="steal()">Bonjour</p><script>alert(1)</script>'
        '<img src="https://tracker.example/pixel.gif" alt="pixel">'
    )
    msg = message_from_bytes(make_mail(), policy=policy.default)
    msg.add_alternative(body, subtype="html")
    intake(msg.as_bytes(policy=policy.SMTP))
    signed_in(client, db, "karim@mairie.example")
    here = f"/tickets/{ticket(db).reference}"
    page = text(client.get(here))
    frame = re.search(r'<iframe class="mail"[^>]*src="([^"]+)"', page)
    assert frame and 'sandbox="allow-popups' in page
    r = client.get(frame[1])
    assert "<script" not in r.text and "onclick" not in r.text and "tracker.example" not in r.text
    assert "img-src data:;" in r.headers["content-security-policy"]
    message_id = frame[1].split("/")[-2]
    shown = client.get(f"{here}/messages/{message_id}/html?images=1")
    assert 'src="https://tracker.example/pixel.gif"' in shown.text
    assert "img-src data: https:" in shown.headers["content-security-policy"]
    assert "<script" not in shown.text


def test_pages_are_english_on_request(client: TestClient, db: Database, intake: Intake) -> None:
    intake(make_mail())
    signed_in(client, db, "karim@mairie.example")
    assert "Take the next one" in client.get("/?lang=en").text
    assert "Take the next one" in client.get("/").text  # remembered for the session
    assert "Prendre le suivant" in client.get("/?lang=fr").text


def test_sign_in_is_rate_limited(client: TestClient, db: Database) -> None:
    make_agent(db, "karim@mairie.example")
    for _ in range(5):
        assert support.web_login(client, "karim@mairie.example", "devine").status_code == 401
    r = support.web_login(client, "karim@mairie.example", PASSWORD)
    assert r.status_code == 429 and "Trop de tentatives" in text(r)
    assert int(r.headers["retry-after"]) > 60


def test_the_api_with_a_session_cookie_wants_the_csrf_header(
    client: TestClient, db: Database, intake: Intake
) -> None:
    intake(make_mail())
    signed_in(client, db, "karim@mairie.example")
    ref = ticket(db).reference
    note = {"text": "Rappeler lundi"}
    assert client.post(f"/api/v1/tickets/{ref}/notes", json=note).status_code == 403
    token = support.csrf_of(client, "/")
    r = client.post(f"/api/v1/tickets/{ref}/notes", json=note, headers={"X-CSRF-Token": token})
    assert r.status_code == 201
