"""The citizen pages over HTTP: search, the record across channels, edit, merge and undo,
confidential teams, CSRF and sign-in."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlmodel import col, select

from gateway.core.db import Database
from inbox.models import AuditEvent, Citizen, CitizenMerge, ContactPoint, Role, Ticket
from inbox.references import new_reference
from inbox.teams import team_id
from tests import support
from tests.conftest import Intake
from tests.support import add_citizen, contacts, make_mail, signed_in, text


def add_ticket(
    db: Database, citizen_id: int, channel: str, subject: str, team: str | None = None
) -> str:
    """A ticket filed directly (the channels' own flows are tested elsewhere)."""
    with db.write() as s:
        team_key = team_id(s, team or "")
        reference = new_reference()
        s.add(
            Ticket(
                reference=reference,
                citizen_id=citizen_id,
                channel=channel,
                subject=subject,
                team_id=team_key,
            )
        )
    return reference


def citizen(db: Database, citizen_id: int) -> Citizen:
    with db.read() as s:
        return s.get_one(Citizen, citizen_id)


def ticket_owners(db: Database) -> dict[str, int | None]:
    with db.read() as s:
        return {t.reference: t.citizen_id for t in s.exec(select(Ticket))}


def edits(db: Database) -> list[AuditEvent]:
    with db.read() as s:
        query = select(AuditEvent).where(AuditEvent.action == "citizen.edited")
        return list(s.exec(query.order_by(col(AuditEvent.id))))


def marie_on_three_channels(db: Database, intake: Intake) -> tuple[int, dict[str, str]]:
    marie = add_citizen(
        db,
        "Marie",
        "Dupont",
        ("email", "marie.dupont@orange.fr"),
        ("phone", "+33612345678"),
        ("handle", "telegram:424242"),
        birth_date="1984-03-02",
        address="3 rue des Lilas",
        postcode="45000",
        city="Exemple-sur-Loire",
    )
    intake(make_mail(subject="Acte de naissance"))  # the pipeline links her known address
    refs = {
        "sms": add_ticket(db, marie, "sms", "Encombrants rue des Lilas"),
        "telegram": add_ticket(db, marie, "telegram", "Horaires de la piscine"),
    }
    with db.read() as s:
        mail = s.exec(select(Ticket).where(Ticket.channel == "email")).one()
    assert mail.citizen_id == marie
    refs["email"] = mail.reference
    return marie, refs


def test_the_record_lists_every_contact_and_ticket_across_channels(
    client: TestClient, db: Database, intake: Intake
) -> None:
    marie, refs = marie_on_three_channels(db, intake)
    signed_in(client, db, "karim@mairie.example")
    page = text(client.get(f"/citizens/{marie}"))
    assert "<h1>Marie Dupont</h1>" in page
    for shown in ("1984-03-02", "3 rue des Lilas", "45000", "Exemple-sur-Loire"):
        assert shown in page
    for contact in ("marie.dupont@orange.fr", "+33612345678", "telegram:424242"):
        assert f"<li>{contact}</li>" in page
    for subject in ("Acte de naissance", "Encombrants rue des Lilas", "Horaires de la piscine"):
        assert subject in page
    for reference in refs.values():
        assert f'href="/tickets/{reference}"' in page
    # Newest first: the two filed after the e-mail come before it.
    positions = [page.index(refs[c]) for c in ("telegram", "sms", "email")]
    assert positions == sorted(positions)
    assert "Demandes (3)" in page


def test_search_then_attach_the_record_to_a_ticket_under_review(
    client: TestClient, db: Database, intake: Intake
) -> None:
    marie = add_citizen(db, "Marie", "Dupont", ("email", "marie.dupont@orange.fr"))
    add_citizen(db, "Paul", "Durand", ("email", "paul.durand@free.fr"))
    intake(make_mail(sender="Marie Dupont <mdupont.perso@gmail.com>"))
    [review] = ticket_owners(db)
    signed_in(client, db, "karim@mairie.example")
    page = text(client.get("/citizens", params={"q": "dupont"}))
    assert f'href="/citizens/{marie}"' in page and "marie.dupont@orange.fr" in page
    assert "Durand" not in page and "Rattacher" not in page
    here = f"/citizens?q=Marie+Dupont&for={review}"
    page = text(client.get(here))
    assert "Rattacher à cette demande" in page and review in page
    r = support.web_post(client, f"/tickets/{review}/citizen", {"citizen": str(marie)}, here)
    assert r.status_code == 303 and r.headers["location"] == f"/tickets/{review}"
    assert ticket_owners(db)[review] == marie
    assert "mdupont.perso@gmail.com" in contacts(db, marie)
    assert "Saisissez au moins 2 caractères" in text(client.get("/citizens?q=d"))


def test_a_social_file_is_absent_for_other_teams_and_shown_to_supervisors(
    client: TestClient, db: Database, intake: Intake
) -> None:
    marie, refs = marie_on_three_channels(db, intake)
    secret = add_ticket(db, marie, "phone", "Demande d'aide sociale", team="Action sociale")
    signed_in(client, db, "karim@mairie.example", team="Voirie")
    page = text(client.get(f"/citizens/{marie}"))
    assert refs["sms"] in page and "Demandes (3)" in page
    assert secret not in page and "aide sociale" not in page
    merge = text(client.get(f"/citizens/{marie}/merge?other={marie}"))
    assert secret not in merge
    support.web_post(client, "/logout", {})
    signed_in(client, db, "ines@mairie.example", team="Action sociale")
    assert secret in text(client.get(f"/citizens/{marie}"))
    support.web_post(client, "/logout", {})
    signed_in(client, db, "sophie@mairie.example", role=Role.supervisor)
    page = text(client.get(f"/citizens/{marie}"))
    assert secret in page and "Demande d'aide sociale" in page and "Demandes (4)" in page


def test_edit_saves_and_audits_field_names_without_values(
    client: TestClient, db: Database, intake: Intake
) -> None:
    marie = add_citizen(db, "Marie", "Dupont", ("email", "marie.dupont@orange.fr"))
    signed_in(client, db, "karim@mairie.example")
    here = f"/citizens/{marie}"
    form = {
        "first_name": "Marie-Claire",
        "last_name": "Dupont",
        "birth_name": "Martin",
        "display_name": "Marie Dupont",
        "birth_date": "1984-03-02",
        "address": " 3 rue des Lilas ",
        "postcode": "45000",
        "city": "Orléans",
    }
    r = support.web_post(client, here, form, here)
    assert r.status_code == 303 and r.headers["location"] == here
    saved = citizen(db, marie)
    assert (saved.first_name, saved.birth_name, saved.address, saved.city) == (
        "Marie-Claire",
        "Martin",
        "3 rue des Lilas",
        "Orléans",
    )
    assert "Fiche enregistrée." in text(client.get(here))
    [event] = edits(db)
    assert event.citizen_id == marie and event.actor_agent_id is not None
    changed = ["first_name", "birth_name", "birth_date", "address", "postcode", "city"]
    assert event.detail == {"fields": changed}
    logged = json.dumps(event.detail, ensure_ascii=False)
    for value in ("Marie-Claire", "Martin", "1984", "Lilas", "45000", "Orléans"):
        assert value not in logged
    support.web_post(client, here, form, here)  # the same values again: nothing to audit
    assert len(edits(db)) == 1
    assert client.get("/citizens", params={"q": "Marie-Claire"}).text.count(here) == 1


def test_a_bad_birth_date_is_refused_and_nothing_changes(
    client: TestClient, db: Database, intake: Intake
) -> None:
    marie = add_citizen(db, "Marie", "Dupont", birth_date="1984-03-02")
    signed_in(client, db, "karim@mairie.example")
    here = f"/citizens/{marie}"
    for bad in ("1984-02-30", "02/03/1984", "19840302", "2999-01-01"):
        r = support.web_post(client, here, {"first_name": "Maria", "birth_date": bad}, here)
        assert r.status_code == 303, bad
        page = text(client.get(r.headers["location"]))
        assert "Rien n'a été enregistré, vérifiez : Date de naissance." in page, bad
        assert 'role="alert"' in page
    kept = citizen(db, marie)
    assert (kept.first_name, kept.birth_date) == ("Marie", "1984-03-02")
    assert edits(db) == []


def test_merge_side_by_side_then_undo_restores_both_records_and_their_tickets(
    client: TestClient, db: Database, intake: Intake
) -> None:
    a = add_citizen(db, "Marie", "Dupont", ("email", "marie.dupont@orange.fr"))
    b = add_citizen(db, "Marie", "Dupont", ("email", "m.dupont@laposte.net"), birth_name="Martin")
    intake(make_mail(sender="Marie Dupont <marie.dupont@orange.fr>"))
    intake(make_mail(sender="Marie Dupont <m.dupont@laposte.net>", subject="Carte d'identité"))
    before = ticket_owners(db)
    assert sorted(before.values(), key=lambda owner: owner or 0) == [a, b]
    signed_in(client, db, "karim@mairie.example")
    found = text(client.get(f"/citizens?q=dupont&merge_into={a}"))
    assert f'href="/citizens/{a}/merge?other={b}"' in found
    here = f"/citizens/{a}/merge?other={b}"
    compare = text(client.get(here))
    assert "marie.dupont@orange.fr" in compare and "m.dupont@laposte.net" in compare
    assert "Martin" in compare and "Fusionner ces deux fiches" in compare
    r = support.web_post(client, f"/citizens/{a}/merge", {"other_id": str(b)}, here)
    assert r.status_code == 303 and r.headers["location"] == f"/citizens/{a}"
    assert set(ticket_owners(db).values()) == {a} and citizen(db, b).merged_into_id == a
    assert contacts(db, a) == {"marie.dupont@orange.fr", "m.dupont@laposte.net"}
    page = text(client.get(f"/citizens/{a}"))
    assert "Fiches fusionnées." in page
    undo = re.search(r'<form method="post" action="(/citizens/merges/\d+/undo)">', page)
    assert undo is not None
    gone = text(client.get(f"/citizens/{b}"))
    assert "fusionnée dans une autre" in gone and f'href="/citizens/{a}"' in gone
    r = support.web_post(client, undo[1], {}, f"/citizens/{a}")
    assert r.status_code == 303
    assert "Fusion annulée" in text(client.get(r.headers["location"]))
    assert ticket_owners(db) == before
    assert citizen(db, b).merged_into_id is None
    assert contacts(db, a) == {"marie.dupont@orange.fr"}
    assert contacts(db, b) == {"m.dupont@laposte.net"}
    again = client.post(undo[1], data={"csrf_token": support.csrf_of(client)})
    assert "Cette fusion a déjà été annulée." in text(again)  # on the record, followed
    with db.read() as s:
        [record] = s.exec(select(CitizenMerge)).all()
        assert record.undone_at is not None
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions.count("citizen.merged") == 1 and actions.count("citizen.merge_undone") == 1


def test_a_record_cannot_be_merged_into_itself(
    client: TestClient, db: Database, intake: Intake
) -> None:
    a = add_citizen(db, "Marie", "Dupont")
    signed_in(client, db, "karim@mairie.example")
    here = f"/citizens/{a}/merge?other={a}"
    assert "Fusionner ces deux fiches" not in text(client.get(here))
    r = support.web_post(client, f"/citizens/{a}/merge", {"other_id": str(a)}, here)
    assert r.status_code == 303
    assert "ne peuvent pas être fusionnées" in text(client.get(r.headers["location"]))
    with db.read() as s:
        assert s.exec(select(CitizenMerge)).first() is None


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, db: Database, intake: Intake
) -> None:
    a = add_citizen(db, "Marie", "Dupont")
    b = add_citizen(db, "Marie", "Dupond")
    signed_in(client, db, "karim@mairie.example")
    posts = {
        f"/citizens/{a}": {"first_name": "Forged"},
        f"/citizens/{a}/merge": {"other_id": str(b)},
        "/citizens/merges/1/undo": {},
    }
    for path, data in posts.items():
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
    assert citizen(db, a).first_name == "Marie" and citizen(db, b).merged_into_id is None
    with db.read() as s:
        assert s.exec(select(CitizenMerge)).first() is None
        assert s.exec(select(ContactPoint)).first() is None


def test_an_anonymous_visitor_is_sent_to_sign_in(
    client: TestClient, db: Database, intake: Intake
) -> None:
    a = add_citizen(db, "Marie", "Dupont")
    for path in ["/citizens", "/citizens?q=dupont", f"/citizens/{a}", f"/citizens/{a}/merge"]:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    token = support.csrf_of(client)
    for path in [f"/citizens/{a}", f"/citizens/{a}/merge", "/citizens/merges/1/undo"]:
        r = client.post(path, data={"csrf_token": token, "other_id": "1"})
        assert r.status_code == 401, path
    assert citizen(db, a).first_name == "Marie"
