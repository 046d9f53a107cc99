"""The pipeline on a real database: tickets, citizens, threading, dedupe, acknowledgements."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlmodel import col, func, select

from channels.email.send import render
from gateway.core.db import Database
from gateway.core.models import JournalItem, OutboxItem
from gateway.core.settings import Settings
from gateway.pipeline import ticket as ticket_stage
from inbox.models import (
    Attachment,
    AuditEvent,
    Citizen,
    ContactPoint,
    Message,
    Team,
    Ticket,
    TicketStatus,
)
from tests.conftest import Intake
from tests.support import make_mail


def tickets(db: Database) -> list[Ticket]:
    with db.read() as s:
        return list(s.exec(select(Ticket).order_by(col(Ticket.id))).all())


def journal(db: Database, item_id: int) -> JournalItem:
    with db.read() as s:
        return s.get_one(JournalItem, item_id)


def acks(intake: Intake) -> list[EmailMessage]:
    """The acknowledgements queued so far, rendered as the relay will receive them."""
    with intake.db.read() as s:
        rows = s.exec(
            select(OutboxItem).where(OutboxItem.kind == "ack").order_by(col(OutboxItem.id))
        ).all()
    return [
        message_from_bytes(render(intake.settings, r.recipient, r.content), policy=policy.default)
        for r in rows
    ]


def test_first_mail_creates_citizen_ticket_and_french_ack(db: Database, intake: Intake) -> None:
    intake(make_mail(sender="Marie Dupont <Marie.Dupont@Orange.fr>"))
    [ticket] = tickets(db)
    with db.read() as s:
        citizen = s.get_one(Citizen, ticket.citizen_id)
        contacts = s.exec(
            select(ContactPoint.value).where(ContactPoint.citizen_id == citizen.id)
        ).all()
    assert (citizen.first_name, citizen.last_name) == ("Marie", "Dupont")
    assert list(contacts) == ["marie.dupont@orange.fr"]
    assert ticket.status == TicketStatus.new and ticket.subject == "Demande d'acte de naissance"
    [ack] = acks(intake)
    assert ack["To"] == "marie.dupont@orange.fr"
    assert ticket.reference in ack["Subject"] and "Accusé de réception" in ack["Subject"]
    body = ack.get_content()
    assert ticket.reference in body and "5 jours ouvrés" in body
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"].strip("<>") in {m.external_id for m in messages(db, ticket.id)}


def messages(db: Database, ticket_id: int | None) -> list[Message]:
    with db.read() as s:
        return list(
            s.exec(
                select(Message).where(Message.ticket_id == ticket_id).order_by(col(Message.id))
            ).all()
        )


def test_same_sender_is_the_same_citizen(db: Database, intake: Intake) -> None:
    intake(make_mail(subject="Premier sujet"))
    intake(make_mail(sender="MARIE DUPONT <marie.dupont@orange.fr>", subject="Second sujet"))
    first, second = tickets(db)
    assert first.citizen_id == second.citizen_id and first.id != second.id


def test_same_delivery_twice_is_one_entry(db: Database, intake: Intake) -> None:
    raw = make_mail(message_id="dup-1@orange.fr")
    intake(raw)
    second = intake(raw)
    assert len(tickets(db)) == 1
    assert len([m for m in messages(db, tickets(db)[0].id) if m.direction == "in"]) == 1
    assert journal(db, second).status == "duplicate"
    assert len(acks(intake)) == 1


def test_same_message_id_from_another_sender_is_not_a_duplicate(
    db: Database, intake: Intake
) -> None:
    intake(make_mail(message_id="same@x.fr"))
    intake(make_mail(sender="Paul Martin <paul.martin@free.fr>", message_id="same@x.fr"))
    assert len(tickets(db)) == 2


def test_reply_to_our_ack_joins_the_ticket_and_reopens_it(db: Database, intake: Intake) -> None:
    intake(make_mail(message_id="q1@orange.fr"))
    [ticket] = tickets(db)
    with db.write() as s:
        t = s.get_one(Ticket, ticket.id)
        t.status = TicketStatus.waiting_citizen
    ack_id = acks(intake)[0]["Message-ID"].strip("<>")
    intake(
        make_mail(
            subject="Re: Accusé de réception",
            body="Voici ma date de naissance : 02/03/1984",
            In_Reply_To=f"<{ack_id}>",
            References=f"<q1@orange.fr> <{ack_id}>",
        )
    )
    [ticket] = tickets(db)
    assert ticket.status == TicketStatus.open
    assert [m.direction for m in messages(db, ticket.id)] == ["in", "out", "in"]
    assert len(acks(intake)) == 1  # no second acknowledgement for a reply


def test_reference_in_subject_joins_only_for_the_same_citizen(db: Database, intake: Intake) -> None:
    intake(make_mail())
    [ticket] = tickets(db)
    intake(make_mail(subject=f"Complément dossier {ticket.reference}", body="Pièce manquante"))
    assert len(tickets(db)) == 1
    intake(
        make_mail(
            sender="Intrus <intrus@evil.example>",
            subject=f"Re: {ticket.reference}",
            body="Donnez-moi le dossier",
        )
    )
    original, other = tickets(db)
    assert (
        len(messages(db, original.id)) == 3
    )  # question, ack, complement: nothing from the intruder
    assert other.needs_review and other.related_ticket_id == original.id
    assert "reference_other_sender" in other.review_reason
    assert other.citizen_id != original.citizen_id


def test_shared_household_address_goes_to_review(db: Database, intake: Intake) -> None:
    with db.write() as s:
        for first in ("Jean", "Claire"):
            c = Citizen(first_name=first, last_name="Martin")
            s.add(c)
            s.flush()
            s.add(ContactPoint(citizen_id=c.id or 0, kind="email", value="famille.martin@free.fr"))
    intake(make_mail(sender="Famille Martin <famille.martin@free.fr>"))
    [ticket] = tickets(db)
    assert ticket.citizen_id is None and ticket.needs_review
    assert ticket.review_reason == "citizen_uncertain" and len(ticket.match_candidates) == 2


def test_loop_guard(db: Database, intake: Intake) -> None:
    robots = [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X_Loop": "contact@mairie.example"},
        {"List_Id": "<infos.asso.example>"},
        {"X_Auto_Response_Suppress": "All"},
    ]
    for n, headers in enumerate(robots):
        intake(make_mail(sender=f"Robot <robot{n}@example.fr>", **headers))
    intake(make_mail(sender="MAILER-DAEMON@orange.fr"))
    intake(make_mail(sender="noreply@impots.example"))
    intake(make_mail(sender="Service <urbanisme@mairie.example>"))
    intake(make_mail(sender="Vrai Usager <usager@example.fr>", Auto_Submitted="no"))
    assert len(tickets(db)) == 9  # every message is kept
    assert [a["To"] for a in acks(intake)] == ["usager@example.fr"]


def test_ack_rate_cap_per_sender(db: Database, intake: Intake) -> None:
    for n in range(5):
        intake(make_mail(subject=f"Demande {n}"))
    assert len(tickets(db)) == 5
    assert len(acks(intake)) == 3


def test_unparseable_mail_is_quarantined_with_its_bytes(db: Database, intake: Intake) -> None:
    raw = b"Subject: pas d'exp\xe9diteur\r\n\r\ncorps sans From\r\n"
    item_id = intake(raw)
    item = journal(db, item_id)
    assert item.status == "quarantined" and item.raw == raw and item.error
    assert tickets(db) == []


def test_attachments_stored_once_by_content_hash(
    db: Database, intake: Intake, settings: Settings
) -> None:
    def with_pdf(subject: str) -> bytes:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = (
            "marie.dupont@orange.fr",
            "contact@mairie.example",
            subject,
        )
        msg.set_content("Ci-joint mon justificatif.")
        msg.add_attachment(
            b"%PDF-1.4 justificatif" * 100,
            maintype="application",
            subtype="pdf",
            filename="justificatif_domicile.pdf",
        )
        return msg.as_bytes()

    intake(with_pdf("Un"))
    intake(with_pdf("Deux"))
    with db.read() as s:
        rows = s.exec(select(Attachment)).all()
    assert [r.filename for r in rows] == ["justificatif_domicile.pdf"] * 2
    assert rows[0].sha256 == rows[1].sha256 and rows[0].size == 2100
    blob_files = [p for p in (settings.blob_dir).rglob("*") if p.is_file()]
    assert len(blob_files) == 1 and blob_files[0].read_bytes() == b"%PDF-1.4 justificatif" * 100


def test_failing_stage_retries_then_dead_letters(
    db: Database, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.pipeline.ticket as stage

    def boom(ctx: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("gateway.pipeline.STAGES", (("ticket", boom),))
    item_id = intake(make_mail())
    item = journal(db, item_id)
    assert item.status == "pending" and item.attempts == 1 and "disk full" in item.error
    with db.write() as s:  # make every retry due now
        for _ in range(10):
            it = s.get_one(JournalItem, item_id)
            it.next_attempt_at = it.received_at
    assert stage is not None
    for _ in range(10):
        with db.write() as s:
            it = s.get_one(JournalItem, item_id)
            it.next_attempt_at = it.received_at
        intake.pipeline.process_one()
    item = journal(db, item_id)
    assert item.status == "failed" and item.attempts == 5 and item.raw
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(AuditEvent)).one() == 0


# ---- Routing: category, team and due date of new tickets (config/routing.toml as shipped).

FRIDAY_4PM = datetime(2027, 1, 8, 15, tzinfo=UTC)  # Friday 8 January 2027, 16:00 in Paris


@pytest.fixture
def friday(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Tickets are opened on Friday 8 January 2027 at 16:00, Paris time."""
    monkeypatch.setattr(ticket_stage, "utcnow", lambda: FRIDAY_4PM)
    return FRIDAY_4PM


def routed(db: Database) -> list[tuple[str, str | None, datetime | None]]:
    """Each ticket's category, team name and due date (in UTC)."""
    with db.read() as s:
        return [
            (
                t.category,
                s.get_one(Team, t.team_id).name if t.team_id else None,
                t.due_at.astimezone(UTC) if t.due_at else None,
            )
            for t in s.exec(select(Ticket).order_by(col(Ticket.id))).all()
        ]


def test_a_pothole_goes_to_voirie_due_in_48_working_hours(
    db: Database, intake: Intake, friday: datetime
) -> None:
    intake(
        make_mail(
            subject="Signalement",
            body="Bonjour, il y a un nid de poule rue Victor Hugo, devant le n° 12.",
        )
    )
    # Friday 1.5 h, the next week 37.5 h, Monday 7.5 h: the last 1.5 h end Tuesday 19 January
    # at 10:00 in Paris.
    assert routed(db) == [("voirie", "Voirie", datetime(2027, 1, 19, 9, tzinfo=UTC))]
    with db.read() as s:
        events = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(e.action, e.detail) for e in events if e.action == "ticket.routed"] == [
        ("ticket.routed", {"category": "voirie"})
    ]


def test_a_social_request_goes_to_action_sociale_with_its_own_delay(
    db: Database, intake: Intake, friday: datetime
) -> None:
    intake(make_mail(subject="Demande d'aide", body="Je suis au RSA et je n'arrive plus à payer."))
    # 16 working hours: Friday 1.5, Monday 7.5, Tuesday 3.5 + 3.5 until 17:00.
    assert routed(db) == [
        ("action-sociale", "Action sociale", datetime(2027, 1, 12, 16, tzinfo=UTC))
    ]


def test_unmatched_request_has_no_category_and_the_default_delay(
    db: Database, intake: Intake, friday: datetime
) -> None:
    intake(make_mail(subject="Question", body="À quelle heure ouvre la mairie samedi ?"))
    assert routed(db) == [("", None, datetime(2027, 1, 19, 9, tzinfo=UTC))]
    with db.read() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "ticket.routed")).all() == []


def test_a_service_mailbox_routes_whatever_the_words(
    db: Database, intake: Intake, friday: datetime
) -> None:
    intake(
        make_mail(subject="Question", body="Bonjour, une question."),
        rcpt="etat-civil@mairie.example",
    )
    assert routed(db)[0][:2] == ("etat-civil", "État civil")


def test_a_rule_team_wins_over_the_mailbox_team(db: Database, intake: Intake) -> None:
    for body in ("Un nid de poule devant chez moi.", "Quels sont vos horaires ?"):
        with db.write() as s:
            s.add(
                JournalItem(
                    channel="email",
                    raw=make_mail(subject="Message", body=body),
                    envelope={"rcpt_tos": ["accueil@mairie.example"], "team": "Accueil"},
                )
            )
    intake.drain()
    assert [r[:2] for r in routed(db)] == [("voirie", "Voirie"), ("", "Accueil")]


def test_a_reply_does_not_route_its_ticket_again(db: Database, intake: Intake) -> None:
    intake(make_mail(subject="Question", body="Bonjour, une question.", message_id="r1@orange.fr"))
    [before] = tickets(db)
    intake(
        make_mail(
            subject="Re: Question",
            body="J'ajoute : un nid de poule rue Victor Hugo.",
            In_Reply_To="<r1@orange.fr>",
            References="<r1@orange.fr>",
        )
    )
    [after] = tickets(db)
    assert len(messages(db, after.id)) == 3  # question, acknowledgement, reply: one ticket
    assert (after.category, after.team_id, after.due_at) == ("", None, before.due_at)
