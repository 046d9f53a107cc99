"""The X channel against a local X API v2 (channels.simulators.x), through tweepy itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import tweepy
from sqlmodel import col, select

from channels.base import ChannelError, ParseError, Runtime
from channels.simulators.x import XSimulator
from channels.x import CHANNEL
from channels.x.parse import ATTACHMENT_NOTE, normalize
from channels.x.poller import NOT_JOURNALED
from channels.x.send import make_client, public_text, send
from gateway.core.channel_state import Reporter, load_checkpoint
from gateway.core.db import Database
from gateway.core.models import ChannelState, JournalItem, OutboxItem
from gateway.core.settings import Settings, XSettings
from gateway.journal import Journal
from gateway.outbox import Outbox
from inbox.models import Message, Ticket, TicketStatus
from tests import support
from tests.conftest import Intake
from tests.support import wait_for

CORPUS = support.CORPUS / "x"
OUR_ID = "1500000000000000001"  # the simulator's default account, also in the corpus
INVITATION_FR = (
    "Bonjour, merci pour votre message. Pour le traiter sans exposer vos données, "
    "écrivez-nous en message privé."
)


@pytest.fixture
def sim() -> Iterator[XSimulator]:
    with XSimulator(user_id=OUR_ID) as simulator:
        yield simulator


def x_settings(settings: Settings, sim: XSimulator, **extra: Any) -> Settings:
    values = {**sim.settings(), "poll_seconds": 0.05, **extra}
    return settings.model_copy(update={"x": XSettings(**values)})


@pytest.fixture
def xs(settings: Settings, sim: XSimulator) -> Settings:
    return x_settings(settings, sim)


@contextmanager
def polling(settings: Settings, db: Database) -> Iterator[threading.Event]:
    """The X poller in a thread, as `guichet serve` runs it; stopped on exit."""
    journal = Journal(db)
    journal.start()
    stop = threading.Event()
    runtime = Runtime(settings, db, journal.append_sync, Reporter(db), stop)
    assert CHANNEL.pollers is not None
    threads = [threading.Thread(target=poll) for poll in CHANNEL.pollers(runtime)]
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        journal.stop()
        assert not any(t.is_alive() for t in threads)


def journaled(db: Database) -> list[dict[str, Any]]:
    with db.read() as s:
        items = s.exec(select(JournalItem).order_by(col(JournalItem.id))).all()
        return [json.loads(i.raw) | {"_envelope": i.envelope} for i in items if i.channel == "x"]


def ids_of(items: list[dict[str, Any]]) -> list[str]:
    return [normalize(json.dumps(i).encode(), i["_envelope"]).message_id or "" for i in items]


def wait_journaled(db: Database, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    wait_for(lambda: len(journaled(db)) >= count, timeout, f"{count} journaled X items")
    return journaled(db)


def state(db: Database) -> ChannelState | None:
    with db.read() as s:
        return s.get(ChannelState, "x")


# -- polling ---------------------------------------------------------------------------------------


def test_a_mention_and_a_dm_become_two_tickets_acknowledged_safely(
    xs: Settings, db: Database, sim: XSimulator
) -> None:
    marie = sim.add_user("Marie Dupont", "marie_dupont")
    jean = sim.add_user("Jean-Loïc Le Gall", "jlg29")
    mention = sim.add_mention(marie, "Le lampadaire de la rue Haute est en panne depuis lundi")
    dm = sim.add_dm(jean, "Bonjour, je voudrais un rendez-vous pour mon passeport.")
    with polling(xs, db):
        wait_journaled(db, 2)
    intake = Intake(db, xs)
    intake.drain()
    with db.read() as s:
        messages = {m.sender: m for m in s.exec(select(Message).where(Message.direction == "in"))}
        assert len(s.exec(select(Ticket)).all()) == 2
        acks = {o.recipient: o.content for o in s.exec(select(OutboxItem))}
    public, private = messages[f"x:{marie['id']}"], messages[f"x:{jean['id']}"]
    assert public.sender_name == "Marie Dupont (@marie_dupont)"
    assert "Le lampadaire de la rue Haute est en panne" in public.text
    assert public.external_id == f"x-tweet:{mention['id']}"
    assert private.sender_name == "Jean-Loïc Le Gall (@jlg29)"
    assert private.text == "Bonjour, je voudrais un rendez-vous pour mon passeport."
    assert private.external_id == f"x-dm:{dm['id']}"
    assert acks[public.sender]["public"] is True and acks[private.sender]["public"] is False
    # Mentions are read with the app's bearer token; DMs need the account's OAuth 1.0a token.
    assert {c.auth for c in sim.requests_to("mentions")} == {"bearer"}
    assert {c.auth for c in sim.requests_to("dm_events")} == {"oauth1"}

    while Outbox(db, xs).send_one():
        pass
    assert [t["text"] for t in sim.posted_tweets] == [INVITATION_FR]
    assert sim.posted_tweets[0]["in_reply_to"] == mention["id"]
    with db.read() as s:
        reference = s.exec(select(Ticket.reference).where(Ticket.id == private.ticket_id)).one()
        invitation = s.exec(
            select(Message).where(Message.direction == "out", Message.ticket_id == public.ticket_id)
        ).one()
    assert [d["participant_id"] for d in sim.sent_dms] == [jean["id"]]
    assert reference in sim.sent_dms[0]["text"]
    assert invitation.external_id == f"x-tweet:{sim.posted_tweets[0]['id']}"

    # Her case is closed; she answers the invitation in public: her reply is matched to our
    # tweet by its id and opens a follow-up linked to the closed case.
    with db.write() as s:
        closed = s.get_one(Ticket, public.ticket_id)
        closed.status = TicketStatus.closed
        s.add(closed)
    sim.add_mention(marie, "Toujours en panne", in_reply_to=sim.posted_tweets[0]["id"])
    with polling(xs, db):
        wait_journaled(db, 3)
    intake.drain()
    with db.read() as s:
        follow_up = s.exec(select(Ticket).where(Ticket.related_ticket_id == public.ticket_id))
        assert follow_up.one().channel == "x"


def test_a_restart_resumes_from_the_checkpoint_without_repeating(
    xs: Settings, db: Database, sim: XSimulator
) -> None:
    marie = sim.add_user("Marie Dupont", "marie_dupont")
    sim.add_mention(marie, "Première question")
    sim.add_dm(marie, "Premier message privé")
    with polling(xs, db):
        wait_journaled(db, 2)
        # Our own DMs show up in the API too, and retweets in mentions: never journaled.
        send(xs, f"x:{marie['id']}", {"body": "Réponse de la mairie", "public": False})
        sim.add_mention(sim.add_user("Quartier Nord", "qnord"), "", retweet=True)
        wait_for(lambda: len(sim.requests_to("dm_events")) >= 4, 5, "two more rounds")
    assert len(journaled(db)) == 2
    checkpoint = load_checkpoint(db, "x")
    assert checkpoint is not None and checkpoint["dm_newest_id"] == sim.sent_dms[0]["id"]

    second = sim.add_mention(marie, "Deuxième question")
    second_dm = sim.add_dm(marie, "Deuxième message privé")
    with polling(xs, db):
        items = wait_journaled(db, 4)
        time.sleep(0.3)  # a few more rounds: still nothing twice
    items = journaled(db)
    assert len(items) == 4
    ids = ids_of(items)
    assert len(set(ids)) == 4
    assert ids[2:] == [f"x-tweet:{second['id']}", f"x-dm:{second_dm['id']}"]
    mentions = sim.requests_to("mentions")
    assert mentions[-1].params["since_id"] == second["id"]


def test_many_dms_across_pages_are_all_imported_once(
    settings: Settings, db: Database, sim: XSimulator
) -> None:
    xs = x_settings(settings, sim, bearer_token="")  # no app token: mentions by user context
    people = [sim.add_user(f"Habitant {n}", f"habitant{n}") for n in range(5)]
    sent = [sim.add_dm(people[n % 5], f"Message numéro {n}") for n in range(230)]
    tweets = [sim.add_mention(people[n % 5], f"Mention numéro {n}") for n in range(120)]
    with polling(xs, db):
        wait_journaled(db, 350, timeout=40)
        time.sleep(0.3)
    ids = ids_of(journaled(db))
    assert len(ids) == 350 == len(set(ids))
    assert [i for i in ids if i.startswith("x-dm:")] == [f"x-dm:{e['id']}" for e in sent]
    assert [i for i in ids if i.startswith("x-tweet:")] == [f"x-tweet:{t['id']}" for t in tweets]
    first_round = [c for c in sim.requests_to("dm_events") if c.status == 200][:3]
    assert [bool(c.params.get("pagination_token")) for c in first_round] == [False, True, True]
    assert {c.auth for c in sim.requests_to("mentions")} == {"oauth1"}


def test_the_first_start_leaves_out_what_predates_the_last_week(
    xs: Settings, db: Database, sim: XSimulator
) -> None:
    marie = sim.add_user("Marie Dupont", "marie_dupont")
    days = 24 * 3600.0
    sim.add_mention(marie, "Il y a un mois", ago=30 * days)
    sim.add_dm(marie, "Il y a dix jours", ago=10 * days)
    recent = [sim.add_mention(marie, "Avant-hier", ago=2 * days)]
    recent.append(sim.add_dm(marie, "Hier", ago=days))
    with polling(xs, db):
        wait_journaled(db, 2)
        wait_for(lambda: len(sim.requests_to("dm_events")) >= 3, 5, "more rounds")
    assert ids_of(journaled(db)) == [f"x-tweet:{recent[0]['id']}", f"x-dm:{recent[1]['id']}"]


def test_a_429_makes_the_poller_wait_for_the_reset_and_say_so(
    xs: Settings, db: Database, sim: XSimulator
) -> None:
    marie = sim.add_user("Marie Dupont", "marie_dupont")
    with polling(xs, db):
        wait_for(lambda: sim.requests_to("dm_events"), 5, "a first round")
        reset = sim.throttle(2.0)
        sim.add_dm(marie, "Envoyé pendant la limite")
        wait_for(lambda: (state(db) or ChannelState(name="x")).last_error, 5, "a reported limit")
        current = state(db)
        assert current is not None and current.last_error.startswith("rate limited until ")
        wait_journaled(db, 1, timeout=10)
    limited = [c for c in sim.calls if c.status == 429]
    assert len(limited) == 1  # one refusal, then silence until the reset
    assert not [c for c in sim.calls if limited[0].at < c.at < reset]
    assert [c for c in sim.calls if c.at >= reset and c.status == 200]
    final = state(db)
    assert final is not None and final.last_ok_at and final.last_error_at
    assert final.last_ok_at > final.last_error_at  # recovered


def test_the_poller_pauses_when_no_request_remains_instead_of_earning_a_429(
    settings: Settings, db: Database
) -> None:
    with XSimulator(
        user_id=OUR_ID, limits={"mentions": 2, "dm_events": 2}, window_seconds=1
    ) as sim:
        xs = x_settings(settings, sim)
        with polling(xs, db):
            wait_for(lambda: len(sim.requests_to("mentions")) >= 3, 10, "a second window")
    assert {c.status for c in sim.calls} == {200}


def test_stop_is_honoured_promptly_during_a_rate_limit_wait(
    xs: Settings, db: Database, sim: XSimulator
) -> None:
    sim.throttle(600)
    with polling(xs, db) as stop:
        wait_for(lambda: (state(db) or ChannelState(name="x")).last_error, 5, "a reported limit")
        began = time.monotonic()
        stop.set()  # polling() joins the thread and fails if it is still alive
    assert time.monotonic() - began < 2
    assert len(sim.calls) == 1


def test_the_poller_survives_server_errors_and_reports_them(
    xs: Settings, db: Database, sim: XSimulator
) -> None:
    sim.fail_next("dm_events", 503)
    sim.add_dm(sim.add_user("Marie Dupont", "marie_dupont"), "Bonjour")
    with polling(xs, db):
        wait_journaled(db, 1, timeout=10)
    current = state(db)
    assert current is not None and current.last_error == "X 503: TwitterServerError"


def test_an_ingest_failure_keeps_the_checkpoint_and_the_item_comes_again(
    xs: Settings, db: Database, sim: XSimulator
) -> None:
    marie = sim.add_user("Marie Dupont", "marie_dupont")
    dms = [sim.add_dm(marie, f"Message {n}") for n in range(3)]
    journal = Journal(db)
    journal.start()
    stop = threading.Event()
    calls = 0

    def ingest(channel: str, raw: bytes, envelope: dict[str, Any]) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:  # the database refuses the second item once
            raise OSError("disk full")
        return journal.append_sync(channel, raw, envelope)

    assert CHANNEL.pollers is not None
    poller = CHANNEL.pollers(Runtime(xs, db, ingest, Reporter(db), stop))[0]
    thread = threading.Thread(target=poller)
    thread.start()
    try:
        wait_journaled(db, 3, timeout=10)
    finally:
        stop.set()
        thread.join(5)
        journal.stop()
    assert ids_of(journaled(db)) == [f"x-dm:{d['id']}" for d in dms]
    assert calls == 4
    current = state(db)
    assert current is not None and current.last_error == "X: OSError"


def test_credentials_are_checked_by_the_simulator(
    settings: Settings, db: Database, sim: XSimulator
) -> None:
    wrong = x_settings(settings, sim, consumer_secret="not-the-secret", bearer_token="")
    with pytest.raises(tweepy.Unauthorized):
        make_client(wrong.x).get_direct_message_events()
    with pytest.raises(ChannelError) as failed:
        send(wrong, "x:123", {"body": "Bonjour", "public": False})
    assert not failed.value.permanent  # a credentials fix lets the outbox retry succeed
    with polling(wrong, db):
        wait_for(lambda: state(db), 5, "a reported error")
    current = state(db)
    assert current is not None and current.last_error == "X 401: Unauthorized"


# -- sending ---------------------------------------------------------------------------------------


def test_send_a_direct_message(xs: Settings, sim: XSimulator) -> None:
    marie = sim.add_user("Marie Dupont", "marie_dupont")
    body = "Bonjour Madame Dupont,\nvotre dossier K7M4-9XQ2 est prêt. 😊"
    sent = send(xs, f"x:{marie['id']}", {"body": body, "automatic": False, "public": False})
    assert sim.sent_dms == [
        {"participant_id": marie["id"], "text": body, "id": sim.sent_dms[0]["id"]}
    ]
    assert sent.provider_id == f"x-dm:{sim.sent_dms[0]['id']}"


@pytest.mark.parametrize("lang", ["fr", "en", None])
def test_a_public_answer_is_only_the_fixed_invitation(
    xs: Settings, sim: XSimulator, lang: str | None
) -> None:
    marie = sim.add_user("Marie Dupont", "marie_dupont")
    mention = sim.add_mention(marie, "Mon voisin fait du bruit la nuit")
    body = (
        "Bonjour Marie Dupont, votre demande K7M4-9XQ2 est notée, "
        "on vous rappelle au 06 12 34 56 78."
    )
    content = {"body": body, "automatic": True, "public": True, "lang": lang}
    sent = send(xs, f"x:{marie['id']}", {**content, "in_reply_to": f"x-tweet:{mention['id']}"})
    [tweet] = sim.posted_tweets
    assert sent.provider_id == f"x-tweet:{tweet['id']}" and tweet["in_reply_to"] == mention["id"]
    assert tweet["text"] == (public_text("en") if lang == "en" else INVITATION_FR)
    for private in ("Marie", "Dupont", "K7M4", "9XQ2", "06 12", "78", "bruit"):
        assert private not in tweet["text"]
    assert not sim.sent_dms


def test_a_public_answer_without_the_tweet_it_answers_is_refused(
    xs: Settings, sim: XSimulator
) -> None:
    for in_reply_to in (None, "x-dm:1790000000000000001", "x-tweet:abc"):
        with pytest.raises(ChannelError) as failed:
            send(xs, "x:42", {"body": "Bonjour", "public": True, "in_reply_to": in_reply_to})
        assert failed.value.permanent
    assert not sim.posted_tweets and not sim.calls


def test_send_errors_say_whether_a_retry_can_help(xs: Settings, sim: XSimulator) -> None:
    closed, gone = sim.add_user("Fermé", "ferme"), sim.add_user("Parti", "parti")
    sim.closed_dms.add(closed["id"])
    sim.missing_users.add(gone["id"])
    open_user = sim.add_user("Ouvert", "ouvert")
    cases: list[tuple[str, str, bool]] = [
        (f"x:{closed['id']}", "", True),  # DMs closed: 403
        (f"x:{gone['id']}", "", True),  # account gone: 404
        ("telegram:42", "", True),  # not an X recipient
        (f"x:{open_user['id']}", "500", False),
        (f"x:{open_user['id']}", "503", False),
        (f"x:{open_user['id']}", "429", False),
    ]
    for recipient, inject, permanent in cases:
        if inject:
            sim.fail_next("dm_send", int(inject))
        with pytest.raises(ChannelError) as failed:
            send(xs, recipient, {"body": "Bonjour", "public": False})
        assert failed.value.permanent is permanent, (recipient, inject)
        assert "Bonjour" not in str(failed.value)
    with pytest.raises(ChannelError) as failed:
        send(xs, f"x:{open_user['id']}", {"body": "x" * 10_001, "public": False})
    assert failed.value.permanent
    assert not sim.sent_dms


def test_an_unreachable_api_is_a_transient_error(settings: Settings) -> None:
    with XSimulator() as sim:
        xs = x_settings(settings, sim)
    with pytest.raises(ChannelError) as failed:  # the simulator is gone: connection refused
        send(xs, "x:42", {"body": "Bonjour", "public": False})
    assert not failed.value.permanent


# -- normalize: the corpus -------------------------------------------------------------------------

HELENE = "x:1790000000000000042"
EXPECTED: dict[str, dict[str, Any] | type[ParseError]] = {
    "mention_accents_emoji.json": {
        "sender": HELENE,
        "sender_name": "Hélène Lefèvre-Ñúñez 🌻 (@helene_lfv)",
        "message_id": "x-tweet:1790000000100000000",
        "public": True,
        "text_has": "rue de l’Église est défoncé devant l’école 😡🚧",
    },
    "dm.json": {
        "sender": HELENE,
        "sender_name": "Hélène Lefèvre (@helene_lfv)",
        "message_id": "x-dm:1790000000200000000",
        "public": False,
        "text_has": "renouveler ma carte d'identité",
    },
    "reply_to_our_tweet.json": {
        "message_id": "x-tweet:1790000000300000000",
        "references": ("x-tweet:1790000000250000000",),
        "public": True,
    },
    "reply_to_someone_else.json": {
        "sender": "x:1790000000000000077",
        "references": (),  # not an answer to us: it must not join Hélène's ticket by id
    },
    "retweet.json": {"automated": "retweet", "public": True},
    "own_tweet.json": {"automated": "own_account"},
    "own_dm.json": {"automated": "own_account"},
    "html_script.json": {
        "text": "@mairie_exemple <script>alert('x')</script> <img src=x onerror=alert(1)> "
        "Tom & Jerry",
        "sender_name": "<b onmouseover=alert(1)>Pirate</b> (@h4x)",
    },
    "unicode_trickery.json": {
        "text": "Bonjour, facture n° 4321 ici café",
        "sender_name": "Admin Mairie (@faux_admin)",
    },
    "dm_attachment_only.json": {"text": ATTACHMENT_NOTE},
    "missing_author_object.json": {"sender": "x:1790000000000000088", "sender_name": ""},
    "dm_participants_join.json": ParseError,
    "malformed.json": ParseError,
    "wrong_types.json": ParseError,
    "wrong_types_dm.json": ParseError,
    "unknown_kind.json": ParseError,
    "not_an_object.json": ParseError,
}


def test_every_corpus_file_has_an_expectation() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    expected = EXPECTED[name]
    if expected is ParseError:
        with pytest.raises(ParseError):
            normalize(raw, {"user_id": OUR_ID})
        return
    assert isinstance(expected, dict)
    msg = normalize(raw, {"user_id": OUR_ID})
    assert msg.channel == "x"
    assert "\x00" not in msg.text + msg.sender_name and "\u202e" not in msg.text + msg.sender_name
    checks = dict(expected)
    # Our own items and retweets are not journaled by the poller; anything else is.
    assert (msg.automated in NOT_JOURNALED) == ("automated" in checks)
    if "text_has" in checks:
        assert checks.pop("text_has") in msg.text
    for field, value in checks.items():
        assert getattr(msg, field) == value, field


def test_huge_and_odd_payloads() -> None:
    huge = "é" * 1_000_000
    item = {"kind": "dm", "event": {"id": "1", "sender_id": "2", "text": huge}, "sender": None}
    assert normalize(json.dumps(item).encode(), {}).text == huge
    assert normalize(json.dumps(item).encode(), {}).automated is None  # no account id known
    with pytest.raises(ParseError):
        normalize(b"\xff\xfe not utf-8", {})
    item["event"] = {"id": "1" * 40, "sender_id": "2", "text": "trop long pour un id"}
    with pytest.raises(ParseError):
        normalize(json.dumps(item).encode(), {})
    bad_date = {"id": "1", "author_id": "2", "text": "a", "created_at": "hier"}
    with pytest.raises(ParseError):
        normalize(json.dumps({"kind": "mention", "tweet": bad_date}).encode(), {})


def test_guichet_serve_polls_x_acknowledges_and_stops_cleanly(
    tmp_path: Path, db_url: str, relay: support.Relay, sim: XSimulator
) -> None:
    """The real process, configured from the environment, as a town hall would run it."""
    env = {f"GUICHET_X__{k.upper()}": str(v) for k, v in sim.settings().items()}
    env.update(GUICHET_X__ENABLED="true", GUICHET_X__POLL_SECONDS="0.2")
    gateway = support.Gateway(db_url, tmp_path, relay.port, env_extra=env).start()
    try:
        mention = sim.add_mention("Marie Dupont", "La fontaine de la place fuit")
        sim.add_dm("Jean Martin", "Bonjour, une question sur la cantine")
        wait_for(lambda: sim.posted_tweets and sim.sent_dms, 30, "both acknowledgements")
        headers = {"Authorization": f"Bearer {gateway.agent_token('sup@mairie.example')}"}
        channels = httpx.get(f"{gateway.url}/api/v1/channels", headers=headers).json()
        [state] = [c for c in channels["channels"] if c["name"] == "x"]
        assert state["enabled"] and state["ok"]
    finally:
        began = time.monotonic()
        assert gateway.stop() == 0
    assert time.monotonic() - began < 10
    assert [t["text"] for t in sim.posted_tweets] == [INVITATION_FR]
    assert sim.posted_tweets[0]["in_reply_to"] == mention["id"]
    assert "référence" in sim.sent_dms[0]["text"]
    assert "fontaine" not in gateway.log() and "cantine" not in gateway.log()
