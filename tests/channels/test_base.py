"""What every channel shares: channel state, checkpoints, the poller journal and runtime."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlmodel import select

from channels.base import Runtime
from gateway.core.channel_state import Reporter, load_checkpoint, save_checkpoint
from gateway.core.db import Database
from gateway.core.models import JournalItem
from gateway.core.settings import Settings
from gateway.journal import Journal
from tests.conftest import Intake
from tests.support import make_agent, make_mail


def test_poller_ingest_commits_before_returning(db: Database) -> None:
    journal = Journal(db)
    journal.start()
    try:
        item_id = journal.append_sync("email", b"raw bytes", {"mailbox": "mairie"})
    finally:
        journal.stop()
    with db.read() as s:
        item = s.get_one(JournalItem, item_id)
        assert (item.raw, item.envelope) == (b"raw bytes", {"mailbox": "mairie"})


def test_checkpoints_survive_a_new_connection(db: Database) -> None:
    assert load_checkpoint(db, "imap:mairie") is None
    save_checkpoint(db, "imap:mairie", {"uidvalidity": 7, "last_uid": 42})
    save_checkpoint(db, "imap:mairie", {"uidvalidity": 7, "last_uid": 43})
    assert load_checkpoint(db, "imap:mairie") == {"uidvalidity": 7, "last_uid": 43}


def test_channel_state_api_shows_errors_backlog_and_recovery(
    client: TestClient, db: Database, intake: Intake
) -> None:
    _, headers = make_agent(db, "karim@mairie.example")
    assert client.get("/api/v1/channels").status_code == 401
    report = Reporter(db)
    report("email", "IMAP: ConnectionRefusedError")
    with db.write() as s:  # a message journaled but not yet processed
        s.add(JournalItem(channel="email", raw=make_mail(), envelope={}))
    channels = {
        c["name"]: c for c in client.get("/api/v1/channels", headers=headers).json()["channels"]
    }
    assert set(channels) == {"email", "sms", "phone", "telegram", "x"}
    email = channels["email"]
    assert email["enabled"] and not channels["sms"]["enabled"]
    assert not email["ok"] and email["last_error"] == "IMAP: ConnectionRefusedError"
    assert email["backlog"]["journal"] == 1 and email["last_received_at"]
    report("email", None)
    email = client.get("/api/v1/channels", headers=headers).json()["channels"][0]
    assert email["ok"] and email["last_error"] == "IMAP: ConnectionRefusedError"
    metrics = client.get("/metrics").text
    assert 'guichet_channel_backlog{channel="email",queue="journal"} 1.0' in metrics
    assert 'guichet_channel_up{channel="email"} 1.0' in metrics
    assert 'guichet_channel_up{channel="sms"} 0.0' in metrics


def test_runtime_contract_for_pollers(db: Database, settings: Settings) -> None:
    """A poller thread hands payloads to the journal and reports; stop ends it."""
    journal = Journal(db)
    journal.start()
    stop = threading.Event()
    runtime = Runtime(settings, db, journal.append_sync, Reporter(db), stop)
    seen: list[int] = []

    def poll() -> None:
        while not stop.is_set():
            seen.append(runtime.ingest("email", make_mail(), {}))
            runtime.report("imap:test", None)
            stop.wait(0.01)

    thread = threading.Thread(target=poll)
    thread.start()
    while len(seen) < 3:
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    journal.stop()
    assert not thread.is_alive()
    with db.read() as s:
        assert len(s.exec(select(JournalItem)).all()) == len(seen)
