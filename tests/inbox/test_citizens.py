"""Citizen matching in the product: link, review and confirm, merge and undo, search, edits.

The register import through the real ``guichet citizens import`` is in tests/e2e/test_cli.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from gateway.core.db import Database
from inbox.models import AuditEvent, Citizen, Role, Ticket
from tests.conftest import Intake
from tests.support import add_citizen, contacts, make_agent, make_mail


@pytest.fixture
def agent(db: Database) -> dict[str, str]:
    return make_agent(db, "karim@mairie.example")[1]


def tickets(db: Database) -> list[Ticket]:
    with db.read() as s:
        return list(s.exec(select(Ticket).order_by(col(Ticket.id))).all())


def test_known_address_links_to_the_register_record(db: Database, intake: Intake) -> None:
    marie = add_citizen(
        db, "Marie", "Dupont", ("email", "marie.dupont@orange.fr"), birth_date="1984-03-02"
    )
    intake(make_mail(sender="DUPONT Marie <Marie.Dupont@ORANGE.fr>"))
    [ticket] = tickets(db)
    assert ticket.citizen_id == marie and not ticket.needs_review
    with db.read() as s:
        assert len(s.exec(select(Citizen)).all()) == 1  # nobody new


def test_name_alone_goes_to_review_then_confirmation_adds_the_address(
    db: Database, intake: Intake, client: TestClient, agent: dict[str, str]
) -> None:
    marie = add_citizen(db, "Marie", "Dupont", ("email", "marie.dupont@orange.fr"))
    intake(make_mail(sender="Marie Dupont <mdupont.perso@gmail.com>"))
    [ticket] = tickets(db)
    assert ticket.needs_review and ticket.citizen_id is None
    assert "citizen_uncertain" in ticket.review_reason
    assert [c["citizen_id"] for c in ticket.match_candidates] == [marie]
    r = client.post(
        f"/api/v1/tickets/{ticket.id}/citizen", json={"citizen_id": marie}, headers=agent
    )
    assert r.status_code == 200
    assert contacts(db, marie) == {"marie.dupont@orange.fr", "mdupont.perso@gmail.com"}
    [ticket] = tickets(db)
    assert ticket.citizen_id == marie and not ticket.needs_review
    intake(make_mail(sender="Marie Dupont <mdupont.perso@gmail.com>", subject="Autre demande"))
    assert tickets(db)[-1].citizen_id == marie and not tickets(db)[-1].needs_review
    audit = client.get(
        f"/api/v1/tickets/{ticket.id}/audit",
        headers=make_agent(db, "sup@mairie.example", Role.supervisor)[1],
    ).json()
    assert "ticket.citizen_confirmed" in [e["action"] for e in audit]


def test_shared_household_address_goes_to_review_and_can_create_a_new_record(
    db: Database, intake: Intake, client: TestClient, agent: dict[str, str]
) -> None:
    jean = add_citizen(db, "Jean", "Martin", ("email", "famille.martin@free.fr"))
    claire = add_citizen(db, "Claire", "Martin", ("email", "famille.martin@free.fr"))
    intake(make_mail(sender="Famille Martin <famille.martin@free.fr>"))
    [ticket] = tickets(db)
    assert ticket.needs_review and {c["citizen_id"] for c in ticket.match_candidates} == {
        jean,
        claire,
    }
    intake(make_mail(sender="Claire Martin <famille.martin@free.fr>", subject="Cantine"))
    assert tickets(db)[-1].citizen_id == claire  # the first name picks one of the two
    r = client.post(
        f"/api/v1/tickets/{ticket.id}/citizen", json={"citizen_id": "new"}, headers=agent
    )
    new_id = r.json()["id"]
    assert new_id not in (jean, claire) and "famille.martin@free.fr" in contacts(db, new_id)


def test_merge_moves_tickets_and_contacts_and_undo_restores(
    db: Database, intake: Intake, client: TestClient, agent: dict[str, str]
) -> None:
    # Two records of one person, as registers and past mistakes leave them.
    add_citizen(db, "Marie", "Dupont", ("email", "marie.dupont@orange.fr"))
    add_citizen(db, "Marie", "Dupont", ("email", "m.dupont@laposte.net"), birth_name="Martin")
    intake(make_mail(sender="Marie Dupont <marie.dupont@orange.fr>"))
    intake(make_mail(sender="Marie Dupont <m.dupont@laposte.net>", subject="Carte d'identité"))
    first, second = tickets(db)
    a, b = first.citizen_id, second.citizen_id
    assert a and b and a != b
    r = client.post(f"/api/v1/citizens/{a}/merge", json={"other_id": b}, headers=agent)
    assert r.status_code == 201
    merge = r.json()
    detail = client.get(f"/api/v1/citizens/{a}", headers=agent).json()
    assert {t["id"] for t in detail["tickets"]} == {first.id, second.id}
    assert {c["value"] for c in detail["contacts"]} == {
        "marie.dupont@orange.fr",
        "m.dupont@laposte.net",
    }
    intake(make_mail(sender="Marie Dupont <m.dupont@laposte.net>", subject="Suite"))
    assert tickets(db)[-1].citizen_id == a  # the merged address now reaches the survivor
    r = client.post(f"/api/v1/citizens/merges/{merge['id']}/undo", headers=agent)
    assert r.status_code == 200 and r.json()["undone"]
    assert contacts(db, b) == {"m.dupont@laposte.net"} and contacts(db, a) == {
        "marie.dupont@orange.fr"
    }
    assert {t.citizen_id for t in tickets(db) if t.id == second.id} == {b}
    assert (
        client.post(f"/api/v1/citizens/merges/{merge['id']}/undo", headers=agent).status_code == 409
    )
    with db.read() as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert "citizen.merged" in actions and "citizen.merge_undone" in actions


def test_search_by_name_address_and_number(
    db: Database, intake: Intake, client: TestClient, agent: dict[str, str]
) -> None:
    marie = add_citizen(
        db, "Marie", "Dupont", ("email", "marie.dupont@orange.fr"), ("phone", "+33612345678")
    )
    add_citizen(db, "Paul", "Durand", ("email", "paul.durand@free.fr"))
    intake.registry.refresh()
    for q in ("DUPONT Marie", "marie.dupont@Orange.fr", "06 12 34 56 78", "dupont"):
        found = client.get("/api/v1/citizens", params={"q": q}, headers=agent).json()
        assert found and found[0]["id"] == marie, q
    assert client.get("/api/v1/citizens", params={"q": "x"}, headers=agent).status_code == 422
    assert client.get("/api/v1/citizens", params={"q": "dupont"}).status_code == 401


def test_edit_changes_keeps_only_changed_fields_and_names_the_bad_ones() -> None:
    from datetime import date

    from inbox.citizens import InvalidEdit, edit_changes

    today = date(2026, 1, 15)
    marie = Citizen(first_name="Marie", last_name="Dupont", birth_date="1984-03-02")
    submitted = {"first_name": " Marie ", "last_name": "Durand", "city": None, "birth_date": ""}
    assert edit_changes(marie, submitted, today=today) == {"last_name": "Durand", "birth_date": ""}
    for bad in ("1984-02-30", "02/03/1984", "19840302", "2026-01-16", "1850-01-01"):
        with pytest.raises(InvalidEdit) as refused:
            edit_changes(marie, {"birth_date": bad, "postcode": "1" * 11}, today=today)
        assert refused.value.fields == ["birth_date", "postcode"] and bad not in str(refused.value)
