"""The phone channel: CTI events, Twilio Voice voicemail, Asterisk CDR import, the call log API.

Webhooks are posted to the real app and the pipeline runs in-process. Twilio's media host is a
local HTTP server that checks the account's basic auth; Twilio's signatures are computed with
the official library's RequestValidator. The real ``guichet calls import`` command is run by
tests/e2e/test_cli.py.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import func, select
from twilio.request_validator import RequestValidator

from channels.base import ChannelError, ParseError, RemoteAttachment
from channels.phone import CHANNEL, normalize
from channels.phone.asterisk import read_rows, zone
from gateway.app import create_app
from gateway.core.blobs import BlobStore
from gateway.core.db import Database
from gateway.core.models import JournalItem, JournalStatus
from gateway.core.settings import CtiSettings, Settings
from inbox import calls_api
from inbox.models import (
    Attachment,
    AuditEvent,
    Call,
    Citizen,
    ContactPoint,
    Message,
    Team,
    Ticket,
)
from tests import support
from tests.conftest import Intake
from tests.support import (
    CTI_TOKEN,
    PHONE_PUBLIC,
    VOICE_ACCOUNT,
    VOICE_AUTH_TOKEN,
    MediaHost,
    make_agent,
    rows,
)

CORPUS = support.CORPUS / "phone"
NUMBER = "+33612345678"
RECORDING = b"ID3\x04\x00fake mp3 frames " * 64


@pytest.fixture
def app(phone_settings: Settings, db: Database, phone_intake: Intake) -> Iterator[TestClient]:
    with TestClient(create_app(phone_settings, db, registry=phone_intake.registry)) as client:
        yield client


def make_citizen(db: Database, number: str = NUMBER) -> int:
    with db.write() as s:
        citizen = Citizen(first_name="Marie", last_name="Dupont", display_name="Marie Dupont")
        s.add(citizen)
        s.flush()
        citizen_id: int = citizen.id or 0
        s.add(ContactPoint(citizen_id=citizen_id, kind="phone", value=number))
    return citizen_id


def cti(client: TestClient, token: str = CTI_TOKEN, **fields: Any) -> int:
    status: int = client.post(f"/webhooks/cti/{token}", data=fields).status_code
    return status


def inbound(db: Database, ticket_id: int | None) -> list[Message]:
    """The citizen's side of a ticket (acknowledgements by SMS left out)."""
    return [m for m in rows(db, Message) if m.ticket_id == ticket_id and m.direction == "in"]


# --- normalize ----------------------------------------------------------------------------------


def _envelope(case: dict[str, Any]) -> dict[str, Any]:
    envelope = {
        "source": case["source"],
        "received_at": "2026-11-23T13:05:42+00:00",
        "content_type": case.get("content_type", ""),
        "lang": "fr",
    }
    if "kind" in case:
        envelope.update(kind=case["kind"], query=case.get("query", {}))
    return envelope


@pytest.mark.parametrize(
    "case", json.loads((CORPUS / "cases.json").read_text()), ids=lambda c: c["file"]
)
def test_corpus_normalizes_or_is_refused(case: dict[str, Any]) -> None:
    raw = (CORPUS / case["file"]).read_bytes()
    if case.get("error"):
        with pytest.raises(ParseError):
            normalize(raw, _envelope(case))
        return
    msg = normalize(raw, _envelope(case))
    assert msg.channel == "phone" and msg.call is not None
    assert msg.call["event"] == case["event"]
    assert msg.sender == case["sender"]
    assert msg.message_id == f"{msg.call['key']}:{case['event']}"
    for field in ("key", "user", "cause", "direction", "voicemail"):
        if field in case:
            assert msg.call[field] == case[field], field
    if "subject" in case:
        assert msg.subject == case["subject"]
        assert "23/11/2026 à 14:05" in msg.text  # Paris time
    if "text_contains" in case:
        assert case["text_contains"] in msg.text
    assert len(msg.remote_attachments) == case.get("attachments", 0)


def test_huge_cti_body_is_refused_and_not_journaled(app: TestClient, db: Database) -> None:
    response = app.post(
        f"/webhooks/cti/{CTI_TOKEN}", data={"event": "newCall", "user": "x" * 70_000}
    )
    assert response.status_code == 413
    assert rows(db, JournalItem) == []


# --- CTI ----------------------------------------------------------------------------------------


def test_answered_call_is_on_the_citizen_timeline_without_a_ticket(
    app: TestClient, db: Database, phone_intake: Intake
) -> None:
    citizen_id = make_citizen(db)
    call = {"from": "0612345678", "to": "0240000000", "direction": "in", "callId": "c-1"}
    ringing = {**call, "event": "newCall", "user[]": ["Sophie", "Karim"]}
    assert app.post(f"/webhooks/cti/{CTI_TOKEN}", data=ringing).status_code == 200
    # Zammad's curl examples post multipart forms, values in quotes: as PBXs copy them.
    multipart = {k: (None, f'"{v}"') for k, v in {**call, "event": "answer"}.items()}
    response = app.post(
        f"/webhooks/cti/{CTI_TOKEN}", files={**multipart, "user[]": (None, "Sophie")}
    )
    assert (response.status_code, response.json()) == (200, {})
    hangup = {**call, "event": "hangup", "cause": "normalClearing"}
    assert app.post(f"/webhooks/cti/{CTI_TOKEN}", json=hangup).status_code == 200
    phone_intake.drain()

    [row] = rows(db, Call)
    assert (row.call_key, row.outcome, row.agent_user) == ("cti:c-1", "answered", "Sophie")
    assert (row.caller, row.callee, row.citizen_id) == (NUMBER, "+33240000000", citizen_id)
    assert row.answered_at is not None and row.ended_at is not None
    assert rows(db, Ticket) == []
    assert {i.status for i in rows(db, JournalItem)} == {JournalStatus.done}

    _, headers = make_agent(db, "sophie@mairie.example")
    assert app.get("/api/v1/calls", params={"citizen_id": citizen_id}).status_code == 401
    timeline = app.get("/api/v1/calls", params={"citizen_id": citizen_id}, headers=headers)
    [entry] = timeline.json()["items"]
    assert (entry["id"], entry["outcome"], entry["ticket_id"]) == (row.id, "answered", None)


def test_missed_call_makes_one_call_back_ticket_whatever_the_order(
    app: TestClient, db: Database, phone_intake: Intake
) -> None:
    citizen_id = make_citizen(db)
    call = {"from": "06 12 34 56 78", "to": "0240000000", "direction": "in"}
    cti(app, event="newCall", callId="m-1", **call)
    cti(app, event="hangup", callId="m-1", cause="noAnswer", **call)
    cti(app, event="hangup", callId="m-1", cause="noAnswer", **call)  # the PBX retried
    # Another call, its events the wrong way round: the hangup, then a late newCall.
    cti(app, event="hangup", callId="m-2", cause="cancel", **call)
    cti(app, event="newCall", callId="m-2", **call)
    cti(app, event="newCall", callId="m-1", **call)
    phone_intake.drain()

    first, second = rows(db, Call)
    assert (first.outcome, first.cause, second.outcome) == ("missed", "noAnswer", "missed")
    assert first.citizen_id == second.citizen_id == citizen_id
    [ticket] = rows(db, Ticket)  # the second missed call joined the open call-back ticket
    assert first.ticket_id == second.ticket_id == ticket.id
    assert (ticket.citizen_id, ticket.channel) == (citizen_id, "phone")
    assert ticket.subject == "Appel manqué — à rappeler"
    messages = inbound(db, ticket.id)
    assert len(messages) == 2
    assert "+33 6 12 34 56 78" in messages[0].text and "durée de sonnerie" in messages[0].text
    statuses = sorted(i.status for i in rows(db, JournalItem))
    assert statuses.count(JournalStatus.duplicate) == 1


def test_outgoing_and_anonymous_calls_are_logged_without_tickets(
    app: TestClient, db: Database, phone_intake: Intake
) -> None:
    cti(app, event="hangup", callId="o-1", direction="out", to="0612345678", cause="cancel")
    cti(app, event="hangup", callId="a-1", direction="in", **{"from": "anonymous"}, cause="cancel")
    phone_intake.drain()
    assert {c.call_key: c.outcome for c in rows(db, Call)} == {
        "cti:o-1": "missed",
        "cti:a-1": "missed",
    }
    assert rows(db, Ticket) == [] and rows(db, Citizen) == []


def test_cti_token_and_events_are_checked_before_anything_is_journaled(
    app: TestClient, db: Database, phone_intake: Intake, phone_settings: Settings
) -> None:
    event = {"event": "newCall", "from": "0612345678", "direction": "in", "callId": "t-1"}
    assert cti(app, "wrong-token", **event) == 403
    assert cti(app, CTI_TOKEN[:-1], **event) == 403
    assert cti(app, event="transfer", callId="t-2", direction="in") == 200  # not ours to handle
    assert rows(db, JournalItem) == []
    assert cti(app, event="hangup", direction="sideways", callId="t-3") == 200  # garbage
    phone_intake.drain()
    [item] = rows(db, JournalItem)
    assert item.status == JournalStatus.quarantined and b"sideways" in item.raw
    off = phone_settings.model_copy(
        update={"cti": CtiSettings(enabled=False, token=SecretStr(CTI_TOKEN))}
    )
    with TestClient(create_app(off, db, registry=phone_intake.registry)) as other:
        assert cti(other, **event) == 404


# --- Twilio Voice -------------------------------------------------------------------------------


def twilio_post(client: TestClient, path: str, params: dict[str, str], forge: bool = False) -> Any:
    url = PHONE_PUBLIC + path
    signature = RequestValidator(VOICE_AUTH_TOKEN).compute_signature(url, params)
    if forge:
        params = {**params, "From": "+33700000000"}
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def corpus_form(name: str, **changes: str) -> dict[str, str]:
    return {**dict(parse_qsl((CORPUS / name).read_text())), **changes}


def test_incoming_call_gets_french_twiml_with_record(app: TestClient, db: Database) -> None:
    response = twilio_post(app, "/webhooks/twilio/voice", corpus_form("twilio_voice.form"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    say, record = root.find("Say"), root.find("Record")
    assert say is not None and say.get("language") == "fr-FR" and "message" in (say.text or "")
    assert record is not None and record.get("maxLength") == "120"
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == f"{PHONE_PUBLIC}/webhooks/twilio/voice/transcription"
    callback = urlsplit(record.get("recordingStatusCallback", ""))
    assert (callback.scheme, callback.netloc, callback.path) == (
        "https",
        "guichet.mairie.example",
        "/webhooks/twilio/voice/recording",
    )
    assert dict(parse_qsl(callback.query))["from"] == NUMBER
    [item] = rows(db, JournalItem)  # the ringing call, on the log
    assert item.envelope["kind"] == "voice"


def test_forged_or_unsigned_twilio_callbacks_are_refused(app: TestClient, db: Database) -> None:
    form = corpus_form("twilio_status_noanswer.form")
    for path in ("", "/status", "/recording", "/transcription"):
        response = twilio_post(app, "/webhooks/twilio/voice" + path, form, forge=True)
        assert response.status_code == 403
        assert app.post("/webhooks/twilio/voice" + path, data=form).status_code == 403
    assert rows(db, JournalItem) == []


def test_voicemail_makes_one_ticket_with_recording_and_transcription(
    app: TestClient, db: Database, phone_intake: Intake, media: MediaHost,
    phone_settings: Settings,
) -> None:  # fmt: skip
    citizen_id = make_citizen(db)
    recording_path = f"/2010-04-01/Accounts/{VOICE_ACCOUNT}/Recordings/RE{'5e6f7a8b' * 4}"
    media.files[recording_path + ".mp3"] = (200, RECORDING)
    recording_url = media.url(recording_path)
    voice = twilio_post(app, "/webhooks/twilio/voice", corpus_form("twilio_voice.form"))
    record = ET.fromstring(voice.text).find("Record")
    assert record is not None
    callback = urlsplit(record.get("recordingStatusCallback", ""))
    path = f"{callback.path}?{callback.query}"
    recording = corpus_form("twilio_recording.form", RecordingUrl=recording_url)
    assert twilio_post(app, path, recording).status_code == 200
    status = corpus_form("twilio_status_completed.form")
    assert twilio_post(app, "/webhooks/twilio/voice/status", status).status_code == 200
    failed = corpus_form("twilio_transcription_failed.form", RecordingUrl=recording_url)
    assert twilio_post(app, "/webhooks/twilio/voice/transcription", failed).status_code == 200
    text = corpus_form("twilio_transcription.form", RecordingUrl=recording_url)
    assert twilio_post(app, "/webhooks/twilio/voice/transcription", text).status_code == 200
    assert len(rows(db, JournalItem)) == 4  # the failed transcription is not journaled
    phone_intake.drain()

    [call] = rows(db, Call)
    [ticket] = rows(db, Ticket)
    assert (call.outcome, call.ticket_id, call.citizen_id) == ("voicemail", ticket.id, citizen_id)
    assert call.recording_url == recording_url and call.duration_seconds == 38
    assert (ticket.subject, ticket.citizen_id) == ("Message vocal — à rappeler", citizen_id)
    voicemail, transcription = inbound(db, ticket.id)
    assert "L'enregistrement est joint" in voicemail.text and "(durée : 27 s)" in voicemail.text
    assert "inscription de ma fille" in transcription.text
    [attachment] = rows(db, Attachment)
    assert attachment.message_id == voicemail.id and attachment.content_type == "audio/mpeg"
    assert BlobStore(phone_settings.blob_dir).get(attachment.sha256) == RECORDING
    assert media.requests[0][0] == recording_path + ".mp3"


def test_anonymous_voicemail_opens_its_own_ticket_for_review(
    app: TestClient, db: Database, phone_intake: Intake, media: MediaHost
) -> None:
    media.files["/anon.mp3"] = (200, RECORDING)
    for sid in ("CA" + "f" * 32, "CA" + "e" * 32):  # two strangers: two tickets
        form = corpus_form("twilio_recording.form", CallSid=sid, RecordingUrl=media.url("/anon"))
        path = "/webhooks/twilio/voice/recording?from=%2B266696687&to=%2B33240000000"
        assert twilio_post(app, path, form).status_code == 200
        text = corpus_form("twilio_transcription.form", CallSid=sid, From="+266696687")
        twilio_post(app, "/webhooks/twilio/voice/transcription", text)
    phone_intake.drain()
    tickets = rows(db, Ticket)
    assert len(tickets) == 2 and rows(db, Citizen) == []
    assert all(t.needs_review and t.citizen_id is None for t in tickets)
    for ticket in tickets:
        assert len(inbound(db, ticket.id)) == 2


def test_anonymous_voicemail_is_routed_like_any_new_ticket(
    app: TestClient, db: Database, phone_settings: Settings, media: MediaHost, tmp_path: Path
) -> None:
    # Such a voicemail leaves the pipeline early, right after its ticket: routed all the same.
    rules = tmp_path / "routing.toml"
    rules.write_text(
        '[categories.accueil]\nlabel = { fr = "Accueil", en = "Front desk" }\nteam = "Accueil"\n'
        '[[rules]]\ncategory = "accueil"\nchannels = ["phone"]\n',
        encoding="utf-8",
    )
    intake = Intake(db, phone_settings.model_copy(update={"routing_file": rules}))
    media.files["/anon.mp3"] = (200, RECORDING)
    form = corpus_form(
        "twilio_recording.form", CallSid="CA" + "d" * 32, RecordingUrl=media.url("/anon")
    )
    path = "/webhooks/twilio/voice/recording?from=%2B266696687&to=%2B33240000000"
    assert twilio_post(app, path, form).status_code == 200
    intake.drain()
    [ticket] = rows(db, Ticket)
    assert ticket.needs_review and ticket.citizen_id is None and ticket.category == "accueil"
    with db.read() as s:
        assert s.get_one(Team, ticket.team_id).name == "Accueil"


def test_recordings_are_fetched_only_from_twilio_hosts(
    phone_settings: Settings, media: MediaHost
) -> None:
    media.files["/big.mp3"] = (200, b"x" * 2048)
    media.files["/gone.mp3"] = (404, b"")
    media.files["/busy.mp3"] = (503, b"")
    media.files["/away.mp3"] = (302, b"http://127.0.0.2:9/x.mp3")
    fetch = CHANNEL.fetch  # what the pipeline worker downloads a voicemail with
    assert fetch is not None
    small = phone_settings.model_copy(
        update={"smtp": phone_settings.smtp.model_copy(update={"max_message_size": 1024})}
    )
    for url, settings, permanent in (
        ("https://evil.example/rec.mp3", phone_settings, True),
        (media.url("/gone.mp3"), phone_settings, True),
        (media.url("/away.mp3"), phone_settings, True),  # a redirect off the media hosts
        (media.url("/big.mp3"), small, True),
        (media.url("/busy.mp3"), phone_settings, False),
    ):
        with pytest.raises(ChannelError) as refused:
            fetch(settings, RemoteAttachment(url, "audio/mpeg", "m.mp3"))
        assert refused.value.permanent is permanent, url
    got = fetch(phone_settings, RemoteAttachment(media.url("/big.mp3"), "audio/mpeg", "m.mp3"))
    assert (got.filename, got.data) == ("m.mp3", b"x" * 2048)


# --- the call log API ---------------------------------------------------------------------------


def test_agent_turns_an_answered_call_into_a_ticket_once(
    app: TestClient, db: Database, phone_intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen_id = make_citizen(db)
    call = {"from": "0612345678", "to": "0240000000", "direction": "in", "callId": "t-9"}
    cti(app, event="newCall", **call)
    cti(app, event="answer", user="Karim", **call)
    cti(app, event="hangup", cause="normalClearing", **call)
    phone_intake.drain()
    [row] = rows(db, Call)
    agent, headers = make_agent(db, "karim@mairie.example")
    note = {"note": "Demande d'attestation d'accueil, dossier à compléter."}
    assert app.post(f"/api/v1/calls/{row.id}/ticket", json=note).status_code == 401
    # Friday 8 January 2027, 16:00 in Paris: due after 48 working hours, Tuesday 19 at 10:00.
    monkeypatch.setattr(calls_api, "utcnow", lambda: datetime(2027, 1, 8, 15, tzinfo=UTC))
    created = app.post(f"/api/v1/calls/{row.id}/ticket", json=note, headers=headers)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert datetime.fromisoformat(ticket["due_at"]) == datetime(2027, 1, 19, 9, tzinfo=UTC)
    assert ticket["category"] == ""
    assert (ticket["citizen_id"], ticket["channel"], ticket["assignee_id"]) == (
        citizen_id,
        "phone",
        agent.id,
    )
    assert ticket["subject"].startswith("Appel du ")
    again = app.post(f"/api/v1/calls/{row.id}/ticket", json=note, headers=headers)
    assert again.status_code == 409
    assert app.post("/api/v1/calls/999/ticket", json=note, headers=headers).status_code == 404
    detail = app.get(f"/api/v1/tickets/{ticket['id']}", headers=headers).json()
    assert [m["direction"] for m in detail["messages"]] == ["in", "note"]
    assert detail["messages"][1]["text"] == note["note"]
    linked = app.get("/api/v1/calls", params={"ticket_id": ticket["id"]}, headers=headers)
    assert [c["id"] for c in linked.json()["items"]] == [row.id]
    with db.read() as s:
        audit = s.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "call.ticket", AuditEvent.actor_agent_id == agent.id)
        ).one()
    assert audit == 1


# --- Asterisk CDR import ------------------------------------------------------------------------


def test_cdr_reader_groups_ring_group_rows_and_reports_bad_lines() -> None:
    parsed = list(read_rows((CORPUS / "asterisk_master.csv").read_text(), zone("Europe/Paris")))
    errors = {r.line: r.reason for r in parsed if not isinstance(r, tuple)}
    assert set(errors) == {7, 8, 9} and "not a date" in errors[7]
    calls = [r[2] for r in parsed if isinstance(r, tuple)]
    assert [c.outcome for c in calls] == [
        "answered",
        "missed",
        "missed",
        "voicemail",
        "busy",
        "missed",
    ]
    assert calls[4].direction == "out" and calls[0].agent == "201"
    assert calls[0].start == datetime(2026, 11, 23, 13, 5, tzinfo=UTC)  # Paris is UTC+1
    raw = (CORPUS / "asterisk_master.csv").read_bytes().splitlines()
    envelope = {"source": "asterisk", "callbacks_since": "2026-11-01T00:00:00+00:00"}
    msg = normalize(b"\n".join(raw[:2]), envelope)  # one call rang two phones: answered
    assert msg.call is not None and msg.call["outcome"] == "answered"
    assert msg.call["key"] == "asterisk:1763903100.1" and msg.sender == NUMBER
    assert msg.automated == "imported"  # a call from a CDR file may be days old: never texted
