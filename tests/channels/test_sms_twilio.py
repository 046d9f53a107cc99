"""SMS through Twilio: signed webhooks, the official client against a local Twilio, the corpus,
the GSM-7 texts we send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from channels.base import ChannelError, ParseError, RemoteAttachment
from channels.simulators.twilio import TwilioSimulator
from channels.sms_twilio.parse import normalize
from channels.sms_twilio.send import fetch, send
from channels.sms_twilio.text import GSM7, SMS_SEGMENT, sms_text, to_gsm7
from gateway.app import create_app
from gateway.core.blobs import BlobStore
from gateway.core.db import Database
from gateway.core.models import JournalItem, JournalStatus, OptOut
from gateway.core.settings import Settings, TwilioSettings
from gateway.journal import Journal
from inbox.models import Attachment, ContactPoint, Message, Ticket
from tests import support
from tests.conftest import Intake
from tests.support import CITIZEN, PUBLIC, free_port, journal_count, send_outbox, with_twilio

HOOK = PUBLIC + "/webhooks/twilio/sms"
STATUS = HOOK + "/status"
CORPUS = support.CORPUS / "sms"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def sim() -> Iterator[TwilioSimulator]:
    with TwilioSimulator() as simulator:
        yield simulator


@pytest.fixture
def tw(settings: Settings, sim: TwilioSimulator) -> Settings:
    return with_twilio(settings, sim)


@pytest.fixture
def tw_intake(db: Database, tw: Settings) -> Intake:
    return Intake(db, tw)


@pytest.fixture
def hook(tw: Settings, db: Database, tw_intake: Intake) -> Iterator[TestClient]:
    with TestClient(create_app(tw, db, registry=tw_intake.registry)) as client:
        yield client


def messages(db: Database, direction: str = "in") -> list[Message]:
    with db.read() as s:
        return list(s.exec(select(Message).where(Message.direction == direction)).all())


def optouts(db: Database) -> list[str]:
    with db.read() as s:
        return [o.address for o in s.exec(select(OptOut).where(OptOut.channel == "sms")).all()]


# -- inbound webhook ------------------------------------------------------------------------------


def test_a_signed_sms_becomes_a_ticket_acknowledged_by_sms_with_delivery_reports(
    hook: TestClient, db: Database, tw: Settings, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    text = "Bonjour, ma fille Anaïs est née à Besançon : où déclarer sa naissance ? Zoé 🙏"
    resp = sim.send_sms(HOOK, CITIZEN, text + "\n", client=hook)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/xml")
    assert resp.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    tw_intake.drain()
    (msg,) = messages(db)
    assert (msg.channel, msg.sender, msg.text) == ("sms", CITIZEN, text)
    assert msg.external_id is not None and msg.external_id.startswith("SM")
    with db.read() as s:
        ticket = s.get_one(Ticket, msg.ticket_id)
        phones = s.exec(select(ContactPoint.value).where(ContactPoint.kind == "phone")).all()
    assert ticket.channel == "sms" and list(phones) == [CITIZEN]

    send_outbox(db, tw)
    (ack,) = sim.sent
    assert ack["to"] == CITIZEN and ack["from"] == sim.number
    assert ticket.reference in ack["body"] and len(ack["body"]) <= 160
    assert ack["status_callback"] == STATUS
    (out,) = messages(db, "out")
    assert (out.external_id, out.delivery_status) == (ack["sid"], "queued")

    assert sim.deliver(ack["sid"], "sent", client=hook).status_code in (200, 204)
    assert sim.deliver(ack["sid"], "delivered", client=hook).status_code in (200, 204)
    assert sim.deliver(ack["sid"], "sent", client=hook).status_code in (200, 204)  # late, ignored
    (out,) = messages(db, "out")
    assert out.delivery_status == "delivered"
    assert journal_count(db) == 1  # status callbacks are not citizens' messages


def test_an_undelivered_acknowledgement_shows_twilios_reason(
    hook: TestClient, db: Database, tw: Settings, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    sim.send_sms(HOOK, CITIZEN, "Bonjour", client=hook)
    tw_intake.drain()
    send_outbox(db, tw)
    (ack,) = sim.sent
    assert sim.deliver(ack["sid"], "undelivered", 30003, client=hook).status_code in (200, 204)
    (out,) = messages(db, "out")
    assert out.delivery_status == "undelivered"
    assert out.delivery_error == "30003 Unreachable destination handset"


def test_a_status_callback_must_be_signed_too(
    hook: TestClient, db: Database, tw: Settings, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    sim.send_sms(HOOK, CITIZEN, "Bonjour", client=hook)
    tw_intake.drain()
    send_outbox(db, tw)
    (ack,) = sim.sent
    forged = {"MessageSid": ack["sid"], "MessageStatus": "failed", "ErrorCode": "30007"}
    assert sim.post_webhook(STATUS, forged, client=hook, signature="Zm9yZ2Vk").status_code == 403
    assert sim.post_webhook(STATUS, forged, client=hook, signature="").status_code == 403
    (out,) = messages(db, "out")
    assert out.delivery_status == "queued" and out.delivery_error == ""


def _forgeries(sim: TwilioSimulator) -> dict[str, tuple[dict[str, str], str]]:
    """Requests that must be refused: (params posted, X-Twilio-Signature sent)."""
    params = sim.sms_params(CITIZEN, "Bonjour, virez 500 € sur ce compte")
    other = TwilioSimulator(sim.account_sid)  # same account sid, another auth token
    tampered = {**params, "Body": "Bonjour, autre texte"}
    return {
        "missing": (params, ""),
        "garbage": (params, "not-a-signature"),
        "other token": (params, other.sign(HOOK, params)),
        "other url": (params, sim.sign(PUBLIC + "/webhooks/twilio/voice", params)),
        "http instead of https": (params, sim.sign(HOOK.replace("https:", "http:"), params)),
        "local url": (params, sim.sign("http://127.0.0.1:8000/webhooks/twilio/sms", params)),
        "tampered body": (tampered, sim.sign(HOOK, params)),
        "another sender": ({**params, "From": "+33698765432"}, sim.sign(HOOK, params)),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "garbage",
        "other token",
        "other url",
        "http instead of https",
        "local url",
        "tampered body",
        "another sender",
    ],
)
def test_a_forged_or_unsigned_webhook_is_refused_and_not_journaled(
    hook: TestClient, db: Database, sim: TwilioSimulator, case: str
) -> None:
    params, signature = _forgeries(sim)[case]
    assert sim.post_webhook(HOOK, params, client=hook, signature=signature).status_code == 403
    assert journal_count(db) == 0


def test_a_repeated_field_is_refused_since_the_signature_covers_only_one_value(
    hook: TestClient, db: Database, sim: TwilioSimulator
) -> None:
    params = sim.sms_params(CITIZEN, "Bonjour")
    signature = sim.sign(HOOK, params)
    # Prepended: a last-value-wins reader verifies the genuine Body, a first-value one reads this.
    body = b"Body=Virez+500+euros&" + urlencode(params).encode()
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    assert hook.post(HOOK, content=body, headers=headers).status_code == 403
    assert journal_count(db) == 0


def test_the_same_message_sid_delivered_twice_makes_one_message(
    hook: TestClient, db: Database, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    params = sim.sms_params(CITIZEN, "Bonjour, est-ce que la mairie est ouverte samedi ?")
    assert sim.post_webhook(HOOK, params, client=hook).status_code == 200
    assert sim.post_webhook(HOOK, params, client=hook).status_code == 200  # Twilio retried
    tw_intake.drain()
    assert len(messages(db)) == 1
    with db.read() as s:
        statuses = sorted(s.exec(select(JournalItem.status)).all())
    assert statuses == [JournalStatus.done, JournalStatus.duplicate]


def test_whatsapp_on_the_sms_number_is_answered_but_not_journaled(
    hook: TestClient, db: Database, sim: TwilioSimulator
) -> None:
    resp = sim.send_sms(HOOK, "whatsapp:" + CITIZEN, "Bonjour", client=hook)
    assert resp.status_code == 200 and "<Response></Response>" in resp.text
    assert journal_count(db) == 0


def test_a_journal_that_cannot_commit_answers_503_so_twilio_retries(
    tw: Settings, db: Database, tw_intake: Intake, sim: TwilioSimulator, tmp_path: Path
) -> None:
    broken = Database(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'journal.sqlite'}")
    journal = Journal(broken)
    journal.start()
    try:
        app = create_app(tw, db, registry=tw_intake.registry, journal=journal)
        with TestClient(app) as client:
            assert sim.send_sms(HOOK, CITIZEN, "Bonjour", client=client).status_code == 503
    finally:
        journal.stop()
        broken.dispose()


# -- MMS ------------------------------------------------------------------------------------------


def attachments_of(db: Database, settings: Settings) -> list[tuple[str, str, bytes]]:
    store = BlobStore(settings.blob_dir)
    with db.read() as s:
        rows = s.exec(select(Attachment).order_by(col(Attachment.id))).all()
    return [(a.filename, a.content_type, store.get(a.sha256)) for a in rows]


def test_mms_media_become_attachments_with_their_bytes(
    hook: TestClient, db: Database, tw: Settings, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    media = [(JPEG, "image/jpeg"), (PDF, "application/pdf")]
    sim.send_sms(HOOK, CITIZEN, "Le nid-de-poule rue Victor-Hugo", media=media, client=hook)
    tw_intake.drain()
    assert attachments_of(db, tw) == [
        ("mms-1.jpg", "image/jpeg", JPEG),
        ("mms-2.pdf", "application/pdf", PDF),
    ]
    (msg,) = messages(db)
    assert msg.text == "Le nid-de-poule rue Victor-Hugo"
    media_requests = [r for r in sim.seen("api") if "/Media/" in r["path"]]
    assert media_requests and all(r["auth"].startswith("Basic ") for r in media_requests)


def test_media_redirected_to_the_cdn_is_fetched_without_our_credentials(
    settings: Settings, sim: TwilioSimulator
) -> None:
    cdn_host = sim.cdn_url.removeprefix("http://")
    s = with_twilio(settings, sim, media_hosts=[sim.media_host, cdn_host])
    sim.redirect_media = True
    url = sim.add_media(JPEG, "image/jpeg")
    got = fetch(s, RemoteAttachment(url, "image/jpeg", "mms-1.jpg"))
    assert (got.filename, got.content_type, got.data) == ("mms-1.jpg", "image/jpeg", JPEG)
    (api,) = sim.seen("api")
    (cdn,) = sim.seen("cdn")
    assert api["auth"].startswith("Basic ") and cdn["auth"] == ""


def test_a_redirect_to_an_unlisted_plain_http_host_is_not_followed(
    tw: Settings, sim: TwilioSimulator
) -> None:
    sim.redirect_media = True
    url = sim.add_media(JPEG, "image/jpeg")
    with pytest.raises(ChannelError) as err:
        fetch(tw, RemoteAttachment(url, "image/jpeg", "mms-1.jpg"))
    assert err.value.permanent
    assert sim.seen("cdn") == []


def test_media_on_another_host_is_refused_unrequested_and_the_message_still_arrives(
    hook: TestClient, db: Database, tw: Settings, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    with TwilioSimulator(sim.account_sid, sim.auth_token) as other:
        elsewhere = other.add_media(JPEG, "image/jpeg")  # same path shape, same credentials
        media: list[tuple[bytes | str, str]] = [(elsewhere, "image/jpeg"), (PDF, "application/pdf")]
        sim.send_sms(HOOK, CITIZEN, "Voir pièce jointe", media=media, client=hook)
        tw_intake.drain()
        assert other.requests == []
    assert attachments_of(db, tw) == [("mms-2.pdf", "application/pdf", PDF)]
    (msg,) = messages(db)
    assert msg.text.startswith("Voir pièce jointe\n") and "mms-1.jpg" in msg.text


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twilio.com.evil.example/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "https://evil.example/api.twilio.com/x.jpg",
        "http://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "https://AC1:token@api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "not a url at all",
    ],
)
def test_fetch_refuses_what_is_not_on_twilios_media_hosts(settings: Settings, url: str) -> None:
    s = settings.model_copy(update={"twilio": TwilioSettings(enabled=True, account_sid="AC1")})
    with pytest.raises(ChannelError) as err:
        fetch(s, RemoteAttachment(url, "image/jpeg", "mms-1.jpg"))
    assert err.value.permanent


def test_fetch_caps_the_size_and_tells_gone_from_unavailable(
    tw: Settings, sim: TwilioSimulator
) -> None:
    url = sim.add_media(b"x" * 5000, "image/jpeg")
    small = tw.model_copy(update={"smtp": tw.smtp.model_copy(update={"max_message_size": 4096})})
    with pytest.raises(ChannelError) as err:
        fetch(small, RemoteAttachment(url, "image/jpeg", "mms-1.jpg"))
    assert err.value.permanent and "size" in str(err.value)
    with pytest.raises(ChannelError) as err:
        fetch(tw, RemoteAttachment(url + "0", "image/jpeg", "mms-1.jpg"))
    assert err.value.permanent  # 404: deleted media
    down = with_twilio(tw, sim, media_hosts=[f"127.0.0.1:{free_port()}"])
    gone = url.replace(sim.media_host, down.twilio.media_hosts[0])
    with pytest.raises(ChannelError) as err:
        fetch(down, RemoteAttachment(gone, "image/jpeg", "mms-1.jpg"))
    assert not err.value.permanent  # connection refused: retried later


# -- sending --------------------------------------------------------------------------------------


def test_send_goes_through_the_official_client_to_twilio(
    tw: Settings, sim: TwilioSimulator
) -> None:
    body = "Mairie : demande enregistrée sous la référence K7M4-9XQ2."
    sent = send(tw, CITIZEN, {"body": body, "automatic": True, "in_reply_to": None})
    (record,) = sim.sent
    assert sent.provider_id == record["sid"] and sent.status == "queued"
    assert record["sid"].startswith("SM") and len(record["sid"]) == 34
    assert (record["to"], record["from"], record["body"]) == (CITIZEN, sim.number, body)
    assert record["status_callback"] == STATUS


def test_send_through_a_messaging_service_without_status_callbacks(
    settings: Settings, sim: TwilioSimulator
) -> None:
    s = with_twilio(
        settings, sim, from_number="", messaging_service_sid="MG" + "a" * 32, status_callbacks=False
    )
    sent = send(s, CITIZEN, {"body": "Bonjour", "automatic": False, "in_reply_to": None})
    (record,) = sim.sent
    assert record["messaging_service_sid"] == "MG" + "a" * 32 and record["from"] == ""
    assert record["status_callback"] == "" and sent.status == "accepted"


def _fail(sim: TwilioSimulator, case: str, tw: Settings) -> Settings:
    if case == "invalid number":
        sim.invalid_numbers.add(CITIZEN)
    elif case == "unsubscribed":
        sim.unsubscribed.add(CITIZEN)
    elif case in ("500", "429"):
        sim.fail_next(int(case))
    elif case == "connection refused":
        return with_twilio(tw, sim, api_base=f"http://127.0.0.1:{free_port()}")
    elif case == "wrong credentials":
        return with_twilio(tw, sim, auth_token="not-the-token")
    return tw


@pytest.mark.parametrize(
    ("case", "permanent", "optout", "text"),
    [
        ("invalid number", True, False, "21211 Invalid 'To' phone number"),
        ("unsubscribed", True, True, "21610 Attempt to send to unsubscribed recipient"),
        ("500", False, False, "HTTP 500"),
        ("429", False, False, "HTTP 429"),
        ("connection refused", False, False, "ConnectionError"),
        ("wrong credentials", False, False, "20003"),
    ],
)
def test_send_errors_are_permanent_or_transient_as_retrying_can_help(
    tw: Settings, sim: TwilioSimulator, case: str, permanent: bool, optout: bool, text: str
) -> None:
    s = _fail(sim, case, tw)
    with pytest.raises(ChannelError) as err:
        send(s, CITIZEN, {"body": "Bonjour", "automatic": True, "in_reply_to": None})
    assert err.value.permanent is permanent
    assert err.value.opt_out is optout
    assert text in str(err.value) and CITIZEN not in str(err.value)
    assert sim.sent == []


def test_a_recipient_unsubscribed_at_twilio_is_recorded_as_opted_out(
    hook: TestClient, db: Database, tw: Settings, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    sim.unsubscribed.add(CITIZEN)
    sim.send_sms(HOOK, CITIZEN, "Bonjour", client=hook)
    tw_intake.drain()
    send_outbox(db, tw)
    (out,) = messages(db, "out")
    assert out.delivery_status == "failed" and "21610" in out.delivery_error
    assert optouts(db) == [CITIZEN]


# -- opt-out keywords -----------------------------------------------------------------------------


def test_stop_opts_out_start_opts_back_in_and_no_ticket_is_opened(
    hook: TestClient, db: Database, tw: Settings, tw_intake: Intake, sim: TwilioSimulator
) -> None:
    sim.send_sms(HOOK, CITIZEN, "ARRÊT", client=hook)
    tw_intake.drain()
    assert optouts(db) == [CITIZEN] and messages(db) == []
    sim.send_sms(HOOK, CITIZEN, "Bonjour, j'ai une question sur la cantine", client=hook)
    tw_intake.drain()
    send_outbox(db, tw)
    assert len(messages(db)) == 1 and sim.sent == []  # a ticket, but no SMS to her
    sim.send_sms(HOOK, CITIZEN, "Start", client=hook)
    tw_intake.drain()
    assert optouts(db) == []
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(Ticket)).one() == 1


@pytest.mark.parametrize(
    ("body", "opt_out_type", "control"),
    [
        ("STOP", "", "opt_out"),
        ("stop", "", "opt_out"),
        ("  Stop.\n", "", "opt_out"),
        ("STOPALL", "", "opt_out"),
        ("Unsubscribe", "", "opt_out"),
        ("cancel", "", "opt_out"),
        ("END", "", "opt_out"),
        ("quit", "", "opt_out"),
        ("ARRET", "", "opt_out"),
        ("Arrêt", "", "opt_out"),
        ("ARRE\u0302T", "", "opt_out"),  # Ê decomposed, as some phones send it
        ("stop  SMS", "", "opt_out"),
        ("START", "", "opt_in"),
        ("unstop", "", "opt_in"),
        ("Yes", "", "opt_in"),
        ("DEMARRER", "", "opt_in"),
        ("Démarrer", "", "opt_in"),
        ("Stop au bruit rue Pasteur !", "", None),
        ("Arrêtez de m'envoyer des SMS", "", None),
        ("STOPPER", "", None),
        ("Ne plus recevoir", "STOP", "opt_out"),
        ("Recommencer", "START", "opt_in"),
        ("STOP", "HELP", None),
    ],
)
def test_opt_out_and_opt_in_keywords(body: str, opt_out_type: str, control: str | None) -> None:
    params = {"MessageSid": "SM" + "0" * 32, "From": CITIZEN, "Body": body}
    if opt_out_type:
        params["OptOutType"] = opt_out_type
    assert normalize(urlencode(params).encode(), {}).control == control


# -- corpus ---------------------------------------------------------------------------------------

EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name: str, settings: Settings) -> None:
    raw = (CORPUS / f"{name}.form").read_bytes()
    want = EXPECTED[name]
    if want.get("error") == "ParseError":
        with pytest.raises(ParseError):
            normalize(raw, {})
        return
    msg = normalize(raw, {})
    assert msg.channel == "sms" and msg.sender == want["sender"]
    assert msg.message_id and msg.message_id[:2] in ("SM", "MM") and msg.subject == ""
    assert msg.control == want.get("control")
    if "text" in want:
        assert msg.text == want["text"] and msg.html is None
    media = [[r.filename, r.content_type] for r in msg.remote_attachments]
    assert media == want.get("media", [])
    if want.get("fetch") == "refused":  # refused before any request: no network here
        for ref in msg.remote_attachments:
            with pytest.raises(ChannelError) as err:
                fetch(settings, ref)
            assert err.value.permanent


def test_a_1600_character_sms_is_kept_whole(sim: TwilioSimulator) -> None:
    body = ("Madame, Monsieur, je vous écris au sujet du permis de construire n° 2024-17. " * 30)[
        :1600
    ]
    raw = urlencode(sim.sms_params(CITIZEN, body)).encode()
    msg = normalize(raw, {})
    assert msg.text == body and len(msg.text) == 1600


def test_normalize_reads_what_the_simulator_posts_without_any_request(sim: TwilioSimulator) -> None:
    params = sim.sms_params("0612345678", "Bonjour", media=[(JPEG, "image/jpeg; charset=binary")])
    msg = normalize(urlencode(params).encode(), {})
    assert msg.sender == CITIZEN and msg.recipients == (sim.number,)
    assert msg.message_id == params["MessageSid"] and msg.message_id.startswith("MM")
    (ref,) = msg.remote_attachments
    assert (ref.url, ref.content_type, ref.filename) == (
        params["MediaUrl0"],
        "image/jpeg",
        "mms-1.jpg",
    )
    assert sim.requests == []


# --- the texts we send (channels.sms_twilio.text) ---------------------------------------------


def test_sms_acknowledgement_is_one_gsm7_segment_with_the_reference(settings: Settings) -> None:
    ticket = Ticket(reference="K7M4-9XQ2", channel="sms")
    for name in ("Mairie", "Mairie de Saint-Étienne-de-Fursac-sur-Creuse " * 3):
        for lang in ("fr", "en"):
            s = settings.model_copy(update={"authority_name": name, "language": lang})
            text = sms_text("ack_sms", s, ticket.reference)
            assert "K7M4-9XQ2" in text
            assert len(text) <= SMS_SEGMENT
            assert set(text) <= GSM7, set(text) - GSM7
    s = settings.model_copy(update={"authority_name": "Mairie de Besançon"})
    assert sms_text("ack_sms", s, ticket.reference).startswith(
        "Mairie de Besancon : demande enregistrée"
    )


def test_gsm7_keeps_french_accents_it_can_and_spells_out_the_others() -> None:
    assert to_gsm7("é è à ù É Ç") == "é è à ù É Ç"
    assert to_gsm7("ça où l’œuvre « ici » ê î ô") == 'ca où l\'oeuvre " ici " e i o'
