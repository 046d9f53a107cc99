"""Every page and every action, tried by an outsider and, for a confidential file, by an agent of
another team: refused. Routes are enumerated from the routers, so a new page is covered too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from fastapi.routing import APIRoute, APIRouter
from fastapi.testclient import TestClient
from sqlmodel import col, select

from gateway.core.db import Database
from inbox import api, calls_api, channels_api, citizens_api, web
from inbox.models import Attachment, Message, Ticket
from inbox.teams import team_id
from tests import support
from tests.conftest import Intake
from tests.support import PASSWORD, make_agent, make_mail

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}
# Valid input for every action, so that a refusal comes from the permission check, not validation.
FORM = {"text": "x", "status": "resolved", "citizen": "new", "agent_id": "", "other_id": "1"}
BODY = {"text": "x", "status": "resolved", "citizen_id": "new", "agent_id": None, "other_id": 1}


def routes(*routers: APIRouter) -> Iterator[tuple[str, str]]:
    for router in routers:
        for route in router.routes:
            assert isinstance(route, APIRoute) and route.methods is not None
            for method in sorted(route.methods):
                if (method, route.path) not in PUBLIC:
                    yield method, route.path


PAGES = list(routes(*(m.router for m in web.MODULES)))
API = list(routes(api.router, citizens_api.router, calls_api.router, channels_api.router))


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "1"), path)


@pytest.fixture
def social_file(db: Database, intake: Intake) -> dict[str, str]:
    """A ticket of the confidential team, with a message and an image attachment."""
    msg = message_from_bytes(make_mail(subject="Demande d'aide sociale"), policy=policy.default)
    msg.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="avis.png")
    intake(msg.as_bytes(policy=policy.SMTP))
    with db.write() as s:
        ticket = s.exec(select(Ticket)).one()
        ticket.team_id = team_id(s, "Action sociale")
        s.add(ticket)
        message = s.exec(select(Message).where(Message.ticket_id == ticket.id)).first()
        attachment = s.exec(select(Attachment)).one()
        assert message is not None
        return {
            "reference": ticket.reference,
            "ticket_key": ticket.reference,
            "message_id": str(message.id),
            "attachment_id": str(attachment.id),
            "citizen_id": str(ticket.citizen_id),
        }


def test_the_route_lists_are_complete() -> None:
    assert len(PAGES) >= 20 and len(API) >= 20
    assert ("POST", "/tickets/{reference}/reply") in PAGES
    assert ("GET", "/api/v1/tickets/{ticket_key}") in API


def test_outsider_is_refused_every_page_and_action(
    client: TestClient, social_file: dict[str, str]
) -> None:
    token = support.csrf_of(client, "/login")  # an anonymous session with a valid token
    for method, path in PAGES:
        url = fill(path, social_file)
        if method == "GET":
            r = client.get(url, follow_redirects=False)
            assert r.status_code == 303, url
            assert r.headers["location"].startswith("/login?next="), url
        else:
            assert client.post(url, data={"csrf_token": token}).status_code == 401, url
            assert client.post(url, data={}).status_code == 403, url  # and no token: CSRF first
    for method, path in API:
        url = fill(path, social_file)
        assert client.request(method, url, json={}).status_code == 401, (method, url)


def test_agent_of_another_team_is_refused_the_confidential_file(
    client: TestClient, db: Database, social_file: dict[str, str]
) -> None:
    make_agent(db, "karim@mairie.example", team="Voirie")
    assert support.web_login(client, "karim@mairie.example", PASSWORD).status_code == 303
    token = support.csrf_of(client, "/")
    scoped = ("{reference}", "{message_id}", "{attachment_id}", "{ticket_key}")
    tried = 0
    for method, path in PAGES + API:
        if not any(key in path for key in scoped):
            continue
        url = fill(path, social_file)
        if path.startswith("/api/"):
            r = client.request(method, url, json=BODY, headers={"X-CSRF-Token": token})
        else:
            r = client.request(method, url, data={**FORM, "csrf_token": token})
        # 404: the file does not exist for this agent; 403 for supervisor-only routes.
        assert r.status_code in (403, 404), (method, url, r.status_code)
        assert "aide sociale" not in r.text, url
        tried += 1
    assert tried >= 15
    citizen = client.get(fill("/citizens/{citizen_id}", social_file)).text
    assert social_file["reference"] not in citizen and "aide sociale" not in citizen
    assert "aide sociale" not in client.get("/?q=aide").text
    with db.read() as s:
        # Nothing written by any agent: no note, no reply (the acknowledgement is Guichet's).
        assert s.exec(select(Message).where(col(Message.agent_id).is_not(None))).first() is None


def test_agent_is_refused_supervision(client: TestClient, db: Database) -> None:
    make_agent(db, "karim@mairie.example")
    support.web_login(client, "karim@mairie.example", PASSWORD)
    token = support.csrf_of(client, "/")
    for method, path in PAGES:
        if path.startswith(("/supervision", "/dashboard")):
            r = client.request(
                method, path, data={"csrf_token": token} if method == "POST" else None
            )
            assert r.status_code == 403, path
