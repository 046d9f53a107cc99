"""One citizen across channels: her reference, her record and the agent's reply follow her."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from channels.simulators.twilio import TwilioSimulator
from gateway.app import create_app
from gateway.core.db import Database
from gateway.core.settings import Settings
from inbox.citizens import upsert_register_rows
from inbox.models import Citizen, Ticket
from inbox.register import RegisterRow
from tests.conftest import Intake
from tests.support import PUBLIC, Relay, make_agent, make_mail, send_outbox, with_twilio

MARIE_PHONE = "+33612345678"
MARIE_MAIL = "marie.dupont@orange.fr"


@pytest.fixture
def sim() -> Iterator[TwilioSimulator]:
    with TwilioSimulator() as simulator:
        yield simulator


@pytest.fixture
def world(
    settings: Settings, db: Database, sim: TwilioSimulator, relay: Relay
) -> Iterator[tuple[Settings, Intake, TestClient]]:
    s = with_twilio(settings, sim)
    s = s.model_copy(update={"relay": s.relay.model_copy(update={"port": relay.port})})
    with db.write() as session:
        row = RegisterRow(
            1, "R1", "Marie", "Dupont", "", "1984-03-02", (MARIE_MAIL,), (MARIE_PHONE,), "", "", ""
        )
        upsert_register_rows(session, [row])
    intake = Intake(db, s)
    with TestClient(create_app(s, db, registry=intake.registry)) as client:
        yield s, intake, client


def sms(
    sim: TwilioSimulator, client: TestClient, text: str, sender: str = "06 12 34 56 78"
) -> None:
    assert (
        sim.send_sms(PUBLIC + "/webhooks/twilio/sms", sender, text, client=client).status_code
        == 200
    )


def tickets(db: Database) -> list[Ticket]:
    with db.read() as s:
        return list(s.exec(select(Ticket).order_by(col(Ticket.id))).all())


def test_sms_then_mail_then_sms_is_one_case_on_one_citizen(
    world: tuple[Settings, Intake, TestClient], db: Database, sim: TwilioSimulator, relay: Relay
) -> None:
    s, intake, client = world
    sms(sim, client, "Bonjour, le lampadaire devant le 12 rue des Écoles est éteint.")
    intake.drain()
    send_outbox(db, s)
    [ticket] = tickets(db)
    ack = sim.sent_to(MARIE_PHONE)
    assert len(ack) == 1 and ticket.reference in ack[0] and len(ack[0]) <= 160
    with db.read() as session:
        marie = session.exec(select(Citizen).where(Citizen.first_name == "Marie")).one()
    assert ticket.citizen_id == marie.id and ticket.channel == "sms"
    # She writes by e-mail, quoting the reference the SMS gave her: the same case.
    intake(make_mail(sender=MARIE_MAIL, subject=f"Réf. {ticket.reference} : toujours éteint"))
    # Then a plain "merci" by SMS continues the conversation instead of opening a new case.
    sms(sim, client, "Merci !")
    intake.drain()
    send_outbox(db, s)
    assert [t.id for t in tickets(db)] == [ticket.id]
    assert len(sim.sent_to(MARIE_PHONE)) == 1  # acknowledged once, not per message
    _, headers = make_agent(db, "karim@mairie.example")
    detail = client.get(f"/api/v1/tickets/{ticket.reference}", headers=headers).json()
    assert [m["channel"] for m in detail["messages"] if m["direction"] == "in"] == [
        "sms",
        "email",
        "sms",
    ]
    # The agent's reply goes by SMS by default; e-mail is offered as she is known there too.
    options = client.get(f"/api/v1/tickets/{ticket.id}/reply-options", headers=headers).json()
    assert options[0] == {"channel": "sms", "to": MARIE_PHONE}
    assert {"channel": "email", "to": MARIE_MAIL} in options
    r = client.post(
        f"/api/v1/tickets/{ticket.id}/reply",
        headers=headers,
        json={"text": "Un agent passe demain matin."},
    )
    assert r.status_code == 201
    r = client.post(
        f"/api/v1/tickets/{ticket.id}/reply",
        headers=headers,
        json={"text": "Le détail par courriel.", "channel": "email", "to": MARIE_MAIL},
    )
    assert r.status_code == 201
    r = client.post(
        f"/api/v1/tickets/{ticket.id}/reply",
        headers=headers,
        json={"text": "Ailleurs ?", "channel": "sms", "to": "+33698765432"},
    )
    assert r.status_code == 409  # not an address of hers
    send_outbox(db, s)
    assert sim.sent_to(MARIE_PHONE)[-1] == "Un agent passe demain matin."
    # One mail only: the reply (her e-mail joined the case, so it was not acknowledged).
    [mail] = relay.wait(1)
    assert mail["To"] == MARIE_MAIL and ticket.reference in mail["Subject"]
    assert "Le détail par courriel." in mail.get_content()


def test_stop_silences_acknowledgements_and_replies_and_failures_show_on_the_message(
    world: tuple[Settings, Intake, TestClient], db: Database, sim: TwilioSimulator
) -> None:
    s, intake, client = world
    _, headers = make_agent(db, "karim@mairie.example")
    sms(sim, client, "STOP")
    sms(sim, client, "Une question quand même : la déchetterie ouvre quand ?")
    intake.drain()
    send_outbox(db, s)
    [ticket] = tickets(db)
    assert sim.sent_to(MARIE_PHONE) == []  # no acknowledgement after STOP
    r = client.post(f"/api/v1/tickets/{ticket.id}/reply", headers=headers, json={"text": "Lundi."})
    assert r.status_code == 409 and "not to be written" in r.json()["detail"]
    # START lifts it; a number Twilio refuses shows why on the message.
    sms(sim, client, "START")
    intake.drain()
    sim.invalid_numbers.add(MARIE_PHONE)
    r = client.post(f"/api/v1/tickets/{ticket.id}/reply", headers=headers, json={"text": "Lundi."})
    assert r.status_code == 201
    send_outbox(db, s)
    out = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json()["messages"][-1]
    assert out["delivery"] == "failed" and "21211" in out["delivery_error"]
