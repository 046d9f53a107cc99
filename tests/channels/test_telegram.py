"""Telegram: the official library against a local Bot API, the webhook, the poller, the corpus."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from channels.base import ChannelError, ParseError, RemoteAttachment, Runtime
from channels.simulators.telegram import TelegramSimulator, make_update, post_update
from channels.telegram.parse import normalize, wanted
from channels.telegram.poller import poll_once, pollers
from channels.telegram.send import fetch, send
from gateway.app import create_app
from gateway.core.blobs import BlobStore
from gateway.core.channel_state import Reporter, load_checkpoint
from gateway.core.db import Database
from gateway.core.models import ChannelState, JournalItem
from gateway.core.settings import Settings, TelegramSettings
from gateway.journal import Journal
from inbox.models import Attachment, Citizen, ContactPoint, Message, Ticket, TicketStatus
from tests import support
from tests.conftest import Intake
from tests.support import free_port, journal_count, send_outbox, wait_for

SECRET = "wh-secret-7f3a9c"
HOOK = "/webhooks/telegram"
CHAT = 583920114
CORPUS = support.CORPUS / "telegram"


@pytest.fixture
def sim() -> Iterator[TelegramSimulator]:
    with TelegramSimulator() as simulator:
        yield simulator


def with_telegram(settings: Settings, sim: TelegramSimulator, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "enabled": True,
        "mode": "webhook",
        "bot_token": sim.token,
        "secret_token": SECRET,
        "api_base": sim.base_url,
        "poll_timeout_seconds": 1,
        **over,
    }
    return settings.model_copy(update={"telegram": TelegramSettings(**values)})


@pytest.fixture
def tg(settings: Settings, sim: TelegramSimulator) -> Settings:
    return with_telegram(settings, sim)


@pytest.fixture
def tg_intake(db: Database, tg: Settings) -> Intake:
    return Intake(db, tg)


@pytest.fixture
def hook(tg: Settings, db: Database, tg_intake: Intake) -> Iterator[TestClient]:
    with TestClient(create_app(tg, db, registry=tg_intake.registry)) as client:
        yield client


def messages_in(db: Database) -> list[Message]:
    with db.read() as s:
        return list(s.exec(select(Message).where(Message.direction == "in")).all())


# -- webhook --


def test_a_message_becomes_a_ticket_and_is_acknowledged_through_the_bot(
    hook: TestClient, db: Database, tg: Settings, tg_intake: Intake, sim: TelegramSimulator
) -> None:
    text = "Bonjour 👋 Ma fille Anaïs est née à Besançon : où déclarer sa naissance ? — Zoé"
    update = make_update(1, CHAT, text=text, first_name="Zoé", last_name="Lefèvre")
    assert post_update(HOOK, update, SECRET, hook) == 200
    tg_intake.drain()
    (msg,) = messages_in(db)
    assert (msg.sender, msg.sender_name, msg.text) == (f"telegram:{CHAT}", "Zoé Lefèvre", text)
    assert msg.external_id == "telegram-update:1"
    with db.read() as s:
        ticket = s.get_one(Ticket, msg.ticket_id)
        citizen = s.get_one(Citizen, ticket.citizen_id)
    assert ticket.channel == "telegram" and citizen.display_name == "Zoé Lefèvre"
    send_outbox(db, tg)
    (ack,) = sim.sent
    assert ack["chat_id"] == CHAT and ticket.reference in ack["text"]
    assert ack["parse_mode"] is None
    with db.read() as s:
        out = s.exec(select(Message).where(Message.direction == "out")).one()
    assert out.external_id == f"telegram:{CHAT}:{ack['message_id']}"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET.upper()])
def test_a_webhook_without_the_secret_token_is_refused_and_not_journaled(
    hook: TestClient, db: Database, secret: str | None
) -> None:
    assert post_update(HOOK, make_update(1, CHAT, text="Bonjour"), secret, hook) == 403
    assert journal_count(db) == 0


def test_no_secret_configured_refuses_everything_and_polling_mode_has_no_webhook(
    settings: Settings, sim: TelegramSimulator, db: Database
) -> None:
    update = make_update(1, CHAT, text="Bonjour")
    no_secret = with_telegram(settings, sim, secret_token="")
    polling = with_telegram(settings, sim, mode="polling")
    for conf, code in ((no_secret, 403), (polling, 404)):
        with TestClient(create_app(conf, db)) as client:
            assert post_update(HOOK, update, "", client) == code
            assert post_update(HOOK, update, SECRET, client) == code
    assert journal_count(db) == 0


def test_the_same_update_delivered_twice_makes_one_message(
    hook: TestClient, db: Database, tg_intake: Intake
) -> None:
    update = make_update(7, CHAT, text="Ma poubelle n'a pas été ramassée")
    assert post_update(HOOK, update, SECRET, hook) == 200
    assert post_update(HOOK, update, SECRET, hook) == 200  # Telegram retried
    tg_intake.drain()
    assert journal_count(db) == 2
    assert len(messages_in(db)) == 1


@pytest.mark.parametrize(
    "update",
    [
        make_update(1, -1001234567890, text="@mairie_bot bonjour", chat_type="supergroup"),
        make_update(2, -4012345, text="bonjour à tous", chat_type="group", user_id=CHAT),
        make_update(3, CHAT, text="Bonjour (corrigé)", kind="edited_message"),
        make_update(
            4, -1009876543210, text="Fermeture lundi", chat_type="channel", kind="channel_post"
        ),
        {"update_id": 5, "callback_query": {"id": "1", "from": {"id": CHAT}, "data": "x"}},
        {"update_id": 6, "my_chat_member": {"chat": {"id": CHAT, "type": "private"}}},
        {
            "update_id": 7,
            "message": {**make_update(7, CHAT)["message"], "sticker": {"file_id": "s"}},
        },
    ],
    ids=["supergroup", "group", "edited", "channel_post", "callback", "blocked", "sticker"],
)
def test_updates_we_do_not_take_are_answered_200_and_not_journaled(
    hook: TestClient, db: Database, update: dict[str, Any]
) -> None:
    assert post_update(HOOK, update, SECRET, hook) == 200
    assert journal_count(db) == 0


def test_a_malformed_update_is_journaled_and_quarantined(
    hook: TestClient, db: Database, tg_intake: Intake
) -> None:
    assert post_update(HOOK, b'{"update_id": 1, "message": {"text": "Bonj', SECRET, hook) == 200
    tg_intake.drain()
    with db.read() as s:
        item = s.exec(select(JournalItem)).one()
    assert item.status == "quarantined" and item.raw.startswith(b'{"update_id": 1')


def test_photos_and_documents_become_attachments_with_the_providers_bytes(
    hook: TestClient, db: Database, tg: Settings, tg_intake: Intake, sim: TelegramSimulator
) -> None:
    jpeg, pdf = b"\xff\xd8\xff\xe0 photo du nid-de-poule" * 50, b"%PDF-1.7 facture EDF"
    sim.add_file("AgAD-photo", jpeg, "photos/file_12.jpg")
    sim.add_file("BQAD-doc", pdf, "documents/file_13.pdf")
    photo = make_update(1, CHAT, photo="AgAD-photo", caption="Rue de l'Église 🚧")
    document = make_update(
        2, CHAT, document=("BQAD-doc", "Facture – février.pdf", "application/pdf")
    )
    for update in (photo, document):
        assert post_update(HOOK, update, SECRET, hook) == 200
    tg_intake.drain()
    with db.read() as s:
        rows = s.exec(select(Attachment).order_by(col(Attachment.id))).all()
        texts = [m.text for m in s.exec(select(Message).order_by(col(Message.id))).all()]
    got = [(a.filename, a.content_type, BlobStore(tg.blob_dir).get(a.sha256)) for a in rows]
    assert got == [
        ("photo-101.jpg", "image/jpeg", jpeg),
        ("Facture – février.pdf", "application/pdf", pdf),
    ]
    assert texts[0] == "Rue de l'Église 🚧"
    # Only the largest photo size is downloaded.
    assert {c["file_id"] for c in sim.calls("getFile")} == {"AgAD-photo", "BQAD-doc"}


def test_a_file_we_cannot_fetch_leaves_a_note_and_the_ticket_is_still_written(
    settings: Settings, sim: TelegramSimulator, db: Database
) -> None:
    small = with_telegram(settings, sim)
    small = small.model_copy(
        update={"smtp": small.smtp.model_copy(update={"max_message_size": 1000})}
    )
    intake = Intake(db, small)
    sim.add_file("BQAD-big", b"x" * 1001, "documents/file_14.pdf")
    with TestClient(create_app(small, db, registry=intake.registry)) as client:
        update = make_update(1, CHAT, document=("BQAD-big", "plan.pdf", "application/pdf"))
        assert post_update(HOOK, update, SECRET, client) == 200
    intake.drain()
    (msg,) = messages_in(db)
    assert "plan.pdf" in msg.text and "non récupérée" in msg.text


def test_her_own_shared_contact_adds_her_phone_number_to_her_record(
    hook: TestClient, db: Database, tg_intake: Intake
) -> None:
    with db.write() as s:  # she is already known to the town hall by her phone number
        known = Citizen(first_name="Zoé", last_name="Lefèvre", display_name="Zoé Lefèvre")
        s.add(known)
        s.flush()
        s.add(ContactPoint(citizen_id=known.id or 0, kind="phone", value="+33612345678"))
        known_id = known.id
    update = make_update(
        1, CHAT, contact=("33612345678", CHAT), first_name="Zoé", last_name="Lefèvre"
    )
    assert post_update(HOOK, update, SECRET, hook) == 200
    tg_intake.drain()
    (msg,) = messages_in(db)
    assert msg.citizen_id == known_id
    with db.read() as s:
        points = {(p.kind, p.value) for p in s.exec(select(ContactPoint)).all()}
    assert points == {("phone", "+33612345678"), ("handle", f"telegram:{CHAT}")}


def test_a_new_citizen_sharing_her_contact_gets_both_addresses(
    hook: TestClient, db: Database, tg_intake: Intake
) -> None:
    assert (
        post_update(HOOK, make_update(1, CHAT, contact=("+33 6 12 34 56 78", CHAT)), SECRET, hook)
        == 200
    )
    tg_intake.drain()
    with db.read() as s:
        points = {(p.kind, p.value) for p in s.exec(select(ContactPoint)).all()}
    assert ("phone", "+33612345678") in points and ("handle", f"telegram:{CHAT}") in points


def test_someone_elses_contact_is_text_not_her_identity(
    hook: TestClient, db: Database, tg_intake: Intake
) -> None:
    update = make_update(1, CHAT, contact=("33698765432", 190044771), first_name="Jean")
    assert post_update(HOOK, update, SECRET, hook) == 200
    tg_intake.drain()
    (msg,) = messages_in(db)
    assert "33698765432" in msg.text
    with db.read() as s:
        kinds = {p.kind for p in s.exec(select(ContactPoint)).all()}
    assert kinds == {"handle"}


def test_start_is_greeted_in_french_and_opens_no_ticket(
    hook: TestClient, db: Database, tg: Settings, tg_intake: Intake, sim: TelegramSimulator
) -> None:
    assert post_update(HOOK, make_update(1, CHAT, text="/start affiche-2025"), SECRET, hook) == 200
    tg_intake.drain()
    with db.read() as s:
        assert s.exec(select(Ticket)).first() is None
    send_outbox(db, tg)
    (greeting,) = sim.sent_to(CHAT)
    assert greeting.startswith("Bonjour, vous êtes en contact avec")


def test_a_reply_to_one_of_our_messages_finds_its_ticket(
    hook: TestClient, db: Database, tg: Settings, tg_intake: Intake, sim: TelegramSimulator
) -> None:
    assert post_update(HOOK, make_update(1, CHAT, text="Demande de RDV"), SECRET, hook) == 200
    tg_intake.drain()
    send_outbox(db, tg)
    ack_id = sim.sent[0]["message_id"]
    with db.write() as s:  # closed: only the reply's reference can still point at it
        first = s.exec(select(Ticket)).one()
        first.status = TicketStatus.closed
        s.add(first)
    reply = make_update(2, CHAT, text="Merci, à jeudi", reply_to=ack_id)
    assert post_update(HOOK, reply, SECRET, hook) == 200
    unrelated = make_update(3, CHAT + 1, text="Autre chose", user_id=CHAT + 1)
    assert post_update(HOOK, unrelated, SECRET, hook) == 200
    tg_intake.drain()
    with db.read() as s:
        tickets = s.exec(select(Ticket).order_by(col(Ticket.id))).all()
    assert [t.related_ticket_id for t in tickets] == [None, first.id, None]


# -- sending and fetching --


def test_send_is_plain_text_and_answers_the_message_it_replies_to(
    tg: Settings, sim: TelegramSimulator
) -> None:
    body = "<b>Bonjour</b> Mme Lefèvre, votre RDV est *jeudi* à 10 h ✅"
    sent = send(tg, f"telegram:{CHAT}", {"body": body, "in_reply_to": f"telegram:{CHAT}:42"})
    (record,) = sim.sent
    assert sent.provider_id == f"telegram:{CHAT}:{record['message_id']}" and sent.status == "sent"
    assert (record["text"], record["parse_mode"], record["reply_to_message_id"]) == (body, None, 42)
    send(tg, f"telegram:{CHAT}", {"body": "Suite", "in_reply_to": "telegram-update:9"})
    assert sim.sent[1]["reply_to_message_id"] is None


def test_a_long_reply_is_split_at_telegrams_limit(tg: Settings, sim: TelegramSimulator) -> None:
    body = "\n".join(f"Ligne {i} : réponse détaillée de la mairie 📄" for i in range(300))
    send(tg, f"telegram:{CHAT}", {"body": body})
    texts = sim.sent_to(CHAT)
    assert len(texts) > 1 and "".join(texts) == body
    assert all(len(t.encode("utf-16-le")) // 2 <= 4096 for t in texts)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # its RetryAfter
@pytest.mark.parametrize(
    ("setup", "permanent"),
    [
        (lambda sim: sim.blocked.add(CHAT), True),
        (lambda sim: sim.missing.add(CHAT), True),
        (lambda sim: sim.fail_next("sendMessage", 429, retry_after=5), False),
        (lambda sim: sim.fail_next("sendMessage", 500), False),
        (lambda sim: sim.fail_next("sendMessage", 502), False),
    ],
    ids=["blocked", "chat_not_found", "429", "500", "502"],
)
def test_send_errors_say_whether_retrying_can_help(
    tg: Settings, sim: TelegramSimulator, setup: Any, permanent: bool
) -> None:
    setup(sim)
    with pytest.raises(ChannelError) as err:
        send(tg, f"telegram:{CHAT}", {"body": "Bonjour"})
    assert err.value.permanent is permanent
    assert not sim.sent


def test_send_to_an_unreachable_api_or_with_a_bad_token_is_transient(
    settings: Settings, sim: TelegramSimulator
) -> None:
    down = with_telegram(settings, sim, api_base=f"http://127.0.0.1:{free_port()}")
    bad_token = with_telegram(settings, sim, bot_token="123:revoked")
    for conf in (down, bad_token):
        with pytest.raises(ChannelError) as err:
            send(conf, f"telegram:{CHAT}", {"body": "Bonjour"})
        assert not err.value.permanent
    for recipient in ("telegram:abc", f"x:{CHAT}", "+33612345678"):
        with pytest.raises(ChannelError) as err:
            send(settings, recipient, {"body": "Bonjour"})
        assert err.value.permanent


def test_fetch_refuses_what_it_must_and_retries_what_it_can(
    settings: Settings, sim: TelegramSimulator
) -> None:
    tg = with_telegram(settings, sim)
    sim.add_file("BQAD-ok", b"%PDF", "documents/file_1.pdf")
    got = fetch(tg, RemoteAttachment("tg-file:BQAD-ok"))
    assert (got.filename, got.content_type, got.data) == ("file_1.pdf", "application/pdf", b"%PDF")
    sim.add_file("BQAD-huge", b"\0" * (20 * 1024 * 1024 + 1), "documents/file_2.bin")
    for ref in ("tg-file:BQAD-huge", "tg-file:unknown", "tg-file:", "https://evil.example/x"):
        with pytest.raises(ChannelError) as err:
            fetch(tg, RemoteAttachment(ref))
        assert err.value.permanent, ref
    down = with_telegram(settings, sim, api_base=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChannelError) as err:
        fetch(down, RemoteAttachment("tg-file:BQAD-ok"))
    assert not err.value.permanent


# -- polling --


@pytest.fixture
def journal(db: Database) -> Iterator[Journal]:
    j = Journal(db)
    j.start()
    yield j
    j.stop()


def runtime(settings: Settings, db: Database, journal: Journal, **over: Any) -> Runtime:
    parts: dict[str, Any] = {"ingest": journal.append_sync, "stop": threading.Event(), **over}
    return Runtime(settings=settings, db=db, report=Reporter(db), **parts)


def journaled_ids(db: Database) -> list[int]:
    with db.read() as s:
        items = s.exec(select(JournalItem).order_by(col(JournalItem.id))).all()
    return [json.loads(item.raw)["update_id"] for item in items]


def test_the_poller_journals_updates_and_its_checkpoint_survives_a_restart(
    settings: Settings, sim: TelegramSimulator, db: Database, journal: Journal
) -> None:
    polling = with_telegram(settings, sim, mode="polling", poll_timeout_seconds=0)
    sim.webhook = {"url": "https://old.example/hook"}  # left over: getUpdates would get 409
    for update in (
        make_update(1, CHAT, text="Bonjour"),
        make_update(2, -100123, text="groupe", chat_type="supergroup"),
        make_update(3, CHAT, text="Suite"),
    ):
        sim.push_update(update)
    assert poll_once(runtime(polling, db, journal), first=True) == 2
    assert sim.webhook is None
    assert journaled_ids(db) == [1, 3]
    assert load_checkpoint(db, "telegram") == {"offset": 4}
    sim.push_update(make_update(4, CHAT, text="Encore"))
    assert poll_once(runtime(polling, db, journal)) == 1  # a new process, same db
    assert journaled_ids(db) == [1, 3, 4]
    assert load_checkpoint(db, "telegram") == {"offset": 5}
    assert sim.calls("getUpdates")[-1]["offset"] == "4"


def test_an_update_not_committed_does_not_move_the_checkpoint(
    settings: Settings, sim: TelegramSimulator, db: Database, journal: Journal
) -> None:
    polling = with_telegram(settings, sim, mode="polling", poll_timeout_seconds=0)
    sim.push_update(make_update(1, CHAT, text="Bonjour"))

    def broken(channel: str, raw: bytes, envelope: dict[str, Any]) -> int:
        raise OSError("journal unavailable")

    with pytest.raises(OSError):
        poll_once(runtime(polling, db, journal, ingest=broken))
    assert load_checkpoint(db, "telegram") is None
    assert poll_once(runtime(polling, db, journal)) == 1


def test_the_poller_thread_recovers_from_errors_and_stops_promptly(
    settings: Settings, sim: TelegramSimulator, db: Database, journal: Journal
) -> None:
    polling = with_telegram(settings, sim, mode="polling", poll_timeout_seconds=25)
    rt = runtime(polling, db, journal)
    (poll,) = pollers(rt)
    assert pollers(runtime(with_telegram(settings, sim), db, journal)) == []
    sim.fail_next("getUpdates", 500)
    thread = threading.Thread(target=poll)
    thread.start()
    try:
        wait_for(
            lambda: journal_count(db) == 0 and len(sim.calls("getUpdates")) >= 2, 10, "a retry"
        )
        sim.push_update(make_update(1, CHAT, text="Bonjour"))  # wakes the long poll
        wait_for(lambda: journal_count(db) == 1, 10, "the update journaled")
        with db.read() as s:
            state = s.get_one(ChannelState, "telegram")
        assert state.last_error == "NetworkError: Internal Server Error"
        assert state.last_ok_at is not None and state.last_error_at is not None
        assert state.last_ok_at >= state.last_error_at
        time.sleep(0.3)  # now waiting in a 25 s long poll
    finally:
        started = time.monotonic()
        rt.stop.set()
        thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 2


# -- corpus --

EXPECTED: dict[str, dict[str, Any]] = {
    "text_accents_emoji": {
        "text": "Anaïs est née le 3 février à Besançon",
        "name": "Zoé Lefèvre-Nguyen",
    },
    "photo_caption": {
        "text": "Nid-de-poule rue de l'Église",
        "files": [("tg-file:AgACAgQAAxkBAAIBq2Y-large", "image/jpeg", "photo-18.jpg")],
    },
    "document_pdf": {
        "text": "justificatif de domicile",
        "files": [
            ("tg-file:BQACAgQAAxkBAAIBrGY-doc", "application/pdf", "Facture EDF – février.pdf")
        ],
    },
    "contact_own": {"identifiers": ("phone:+33612345678",), "text": "+33612345678"},
    "contact_other": {"identifiers": (), "text": "Jean-Pierre Martin, +33698765432"},
    "start": {"control": "start"},
    "start_payload": {"control": "start", "text": "/start affiche-mairie-2025"},
    "reply_to_bot": {"references": (f"telegram:{CHAT}:1007",), "control": None},
    "voice": {"files": [("tg-file:AwACAgQAAxkBAAIBrWY-voice", "audio/ogg", "voice-25.ogg")]},
    "location": {"text": "Position : 47.237829, 6.024054"},
    "html_script": {"text": "<script>alert('xss')</script><b>urgent</b> &amp;", "html": None},
    "unicode_trickery": {
        "text": "Bonjour le\u202e fichier\u200b ci-joint",
        "files": [("tg-file:BQACAgQ-trick", "application/pdf", "factuexe.pdf")],
    },
    "lone_surrogate": {"text": "Demi-emoji ? et fin", "name": "Zoé ?"},
}
SKIPPED = {"group_message", "edited_message", "channel_post", "callback_query", "sticker_only"}
SKIPPED |= {"blocked_notice"}
BROKEN = {"malformed", "not_an_object", "wrong_types", "wrong_chat_id", "text_not_string"}
BROKEN |= {"missing_update_id", "missing_chat"}


def test_the_corpus_is_entirely_covered() -> None:
    assert {p.stem for p in CORPUS.glob("*.json")} == set(EXPECTED) | SKIPPED | BROKEN


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_updates_normalize(name: str) -> None:
    raw = (CORPUS / f"{name}.json").read_bytes()
    assert wanted(raw)
    msg = normalize(raw, {})
    expected = EXPECTED[name]
    assert msg.channel == "telegram" and msg.sender == f"telegram:{CHAT}"
    assert msg.message_id == f"telegram-update:{json.loads(raw)['update_id']}"
    assert "\x00" not in msg.text
    msg.text.encode("utf-8")  # storable: no lone surrogate left
    assert expected.get("text", "") in msg.text
    assert msg.sender_name == expected.get("name", "Zoé Lefèvre-Nguyen")
    files = [(r.url, r.content_type, r.filename) for r in msg.remote_attachments]
    assert files == expected.get("files", [])
    assert msg.identifiers == expected.get("identifiers", ())
    assert msg.references == expected.get("references", ())
    assert msg.control == expected.get("control")
    assert msg.html is None and msg.sent_at is not None


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_corpus_updates_we_do_not_take(name: str) -> None:
    raw = (CORPUS / f"{name}.json").read_bytes()
    assert not wanted(raw)
    with pytest.raises(ParseError):  # replayed from the journal by hand: quarantined
        normalize(raw, {})


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_corpus_payloads_we_cannot_read_are_journaled_then_quarantined(name: str) -> None:
    raw = (CORPUS / f"{name}.json").read_bytes()
    assert wanted(raw)
    with pytest.raises(ParseError):
        normalize(raw, {})


def test_huge_and_deeply_nested_payloads() -> None:
    huge = make_update(1, CHAT, text="Très long message. " * 60_000)
    msg = normalize(json.dumps(huge).encode(), {})
    assert len(msg.text) == len(huge["message"]["text"])
    deep = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert wanted(deep)
    with pytest.raises(ParseError):
        normalize(deep, {})
