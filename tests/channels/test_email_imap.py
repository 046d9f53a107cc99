"""IMAP intake against a real Dovecot: tickets, checkpoints across restarts, UIDVALIDITY changes,
server crashes, unparseable mail, team routing, bad credentials, and `guichet serve`."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from sqlmodel import col, func, select

from channels.base import Runtime
from channels.email import imap
from gateway.core.channel_state import Reporter, load_checkpoint
from gateway.core.db import Database
from gateway.core.models import ChannelState, JournalItem, JournalStatus
from gateway.core.settings import ImapMailbox, Settings
from gateway.journal import Journal
from inbox.models import Message, Team, Ticket
from tests import support
from tests.conftest import Intake
from tests.dovecot import Dovecot
from tests.support import make_mail, wait_for

CORPUS = support.CORPUS / "email"
PASSWORDS = {"mairie": "mot-de-passe-mairie", "etatcivil": "mot-de-passe-etat-civil"}
KEYWORD = b"$Guichet"


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    with Dovecot(tmp_path / "dovecot", PASSWORDS) as server:
        yield server


def mailbox(server: Dovecot, tmp_path: Path, user: str = "mairie", **over: Any) -> ImapMailbox:
    secret = tmp_path / f"{user}.password"
    secret.write_text(PASSWORDS[user] + "\n")
    values: dict[str, Any] = {
        "name": user,
        "host": "127.0.0.1",
        "port": server.port,
        "ssl": False,
        "username": user,
        "password_file": str(secret),
        "address": f"{user}@mairie.example",
        "poll_seconds": 1,
        "timeout_seconds": 5,
        **over,
    }
    return ImapMailbox(**values)


class Pollers:
    """The IMAP pollers of `guichet serve`, in threads, journaling through the real journal."""

    def __init__(self, settings: Settings, db: Database, *mailboxes: ImapMailbox) -> None:
        self.journal = Journal(db)
        self.stop = threading.Event()
        self.runtime = Runtime(
            settings=settings.model_copy(update={"imap": list(mailboxes)}),
            db=db,
            ingest=self.journal.append_sync,
            report=Reporter(db),
            stop=self.stop,
        )
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> Pollers:
        self.journal.start()
        for poll in imap.pollers(self.runtime):
            thread = threading.Thread(target=poll, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(3)  # IDLE waits are short: a shutdown is noticed within a second or two
        self.journal.stop()
        if exc_type is None:
            assert not any(t.is_alive() for t in self.threads), "a poller ignored the stop"

    def alive(self) -> bool:
        return all(t.is_alive() for t in self.threads)


def count(db: Database, model: Any, *where: Any) -> int:
    with db.read() as session:
        return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def tickets(intake: Intake, expected: int, timeout: float = 20.0) -> list[Ticket]:
    """Run the pipeline until ``expected`` tickets exist; fail if more turn up."""

    def enough() -> bool:
        intake.drain()
        return count(intake.db, Ticket) >= expected

    wait_for(enough, timeout, f"{expected} tickets")
    with intake.db.read() as session:
        found = list(session.exec(select(Ticket).order_by(col(Ticket.id))).all())
    assert len(found) == expected
    return found


def subjects(db: Database) -> list[str]:
    with db.read() as session:
        found = session.exec(select(Message).where(Message.direction == "in")).all()
        return sorted(m.subject for m in found)


def state(db: Database, name: str) -> ChannelState | None:
    with db.read() as session:
        return session.get(ChannelState, name)


def failing(db: Database, name: str) -> ChannelState:
    """Wait for the channel state to show an error; return it."""

    def error() -> ChannelState | None:
        current = state(db, name)
        return current if current is not None and current.last_error else None

    found = wait_for(error, 10, f"{name} to report an error")
    assert found is not None
    return found


def flags(server: Dovecot, user: str = "mairie", folder: str = "INBOX") -> list[set[bytes]]:
    return [set(m[b"FLAGS"]) for m in server.messages(user, folder).values()]


def mail(subject: str, sender: str = "Marie Dupont <marie.dupont@orange.fr>") -> bytes:
    return make_mail(sender=sender, subject=subject)


def test_appended_mail_becomes_tickets_and_is_flagged(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database, intake: Intake
) -> None:
    dovecot.append("mairie", mail("Acte de naissance"))
    # A long poll interval: the mail appended later can only arrive quickly through IDLE.
    box = mailbox(dovecot, tmp_path, poll_seconds=60)
    with Pollers(settings, db, box):
        tickets(intake, 1)
        dovecot.append("mairie", mail("Inscription sur les listes électorales"))
        dovecot.append("mairie", mail("Permis de construire", "Jean Martin <jean@free.fr>"))
        tickets(intake, 3, timeout=10)
    assert subjects(db) == [
        "Acte de naissance",
        "Inscription sur les listes électorales",
        "Permis de construire",
    ]
    assert all({KEYWORD, b"\\Seen"} <= f for f in flags(dovecot))
    with db.read() as session:
        items = session.exec(select(JournalItem).order_by(col(JournalItem.id))).all()
    validity = dovecot.uidvalidity("mairie")
    assert [i.envelope["imap_uid"] for i in items] == [1, 2, 3]
    assert {i.envelope["uidvalidity"] for i in items} == {validity}
    assert items[0].envelope["rcpt_tos"] == ["mairie@mairie.example"]
    assert items[0].envelope["mailbox"] == "mairie"
    assert load_checkpoint(db, "imap:mairie") == {"uidvalidity": validity, "last_uid": 3}
    current = state(db, "imap:mairie")
    assert current is not None and current.last_ok_at is not None and not current.last_error


@pytest.mark.parametrize(
    "capabilities",
    [None, "IMAP4rev1 LITERAL+ UIDPLUS"],  # the second: no MOVE, no IDLE (COPY, polling)
    ids=["move-idle", "copy-poll"],
)
def test_move_mode_moves_journaled_mail_out_of_the_folder(
    tmp_path: Path, settings: Settings, db: Database, intake: Intake, capabilities: str | None
) -> None:
    with Dovecot(tmp_path / "dovecot", PASSWORDS, capabilities=capabilities) as server:
        first, second = mail("Demande de rendez-vous"), mail("Carte d'identité")
        server.append("mairie", first)
        box = mailbox(server, tmp_path, after="move", move_to="Traités")
        with Pollers(settings, db, box):
            tickets(intake, 1)
            server.append("mairie", second)
            tickets(intake, 2)
            wait_for(lambda: len(server.messages("mairie", "Traités")) == 2, 10, "moves")
        assert server.messages("mairie") == {}  # moved out, nothing left behind as \Deleted
        moved = [m[b"BODY[]"] for m in server.messages("mairie", "Traités").values()]
        assert moved == [first, second]
    assert count(db, JournalItem) == 2


def test_restart_imports_nothing_twice_and_picks_up_new_mail(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database, intake: Intake
) -> None:
    box = mailbox(dovecot, tmp_path)
    validity = dovecot.uidvalidity("mairie")
    with Pollers(settings, db, box):  # an empty mailbox: nothing to do, but a checkpoint
        expected = {"uidvalidity": validity, "last_uid": 0}
        wait_for(lambda: load_checkpoint(db, "imap:mairie") == expected, 10, "a checkpoint")
    for n in range(3):
        dovecot.append("mairie", mail(f"Demande {n}"))
    with Pollers(settings, db, box):
        tickets(intake, 3)
    dovecot.append("mairie", mail("Demande 3"))
    dovecot.append("mairie", mail("Demande 4"))
    with Pollers(settings, db, box):
        tickets(intake, 5)
        dovecot.append("mairie", mail("Demande 5"))
        tickets(intake, 6)
    # Not just deduplicated by the pipeline: never fetched twice in the first place.
    assert count(db, JournalItem) == 6
    assert subjects(db) == [f"Demande {n}" for n in range(6)]


def test_uidvalidity_change_skips_nothing_and_imports_nothing_twice(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database, intake: Intake
) -> None:
    box = mailbox(dovecot, tmp_path, folder="Demandes")
    old_a, old_b = mail("Ancienne A"), mail("Ancienne B")
    dovecot.append("mairie", old_a, "Demandes")
    dovecot.append("mairie", old_b, "Demandes")
    with Pollers(settings, db, box):
        tickets(intake, 2)
    before = load_checkpoint(db, "imap:mairie")
    assert before is not None and before["last_uid"] == 2

    # The folder is rebuilt (a server migration, a restore): every UID starts again at 1. The
    # new mail gets the low UIDs a stale checkpoint would skip; A comes back marked as done, B
    # without its mark (journaled, but the mark was lost): the pipeline's dedupe absorbs it.
    dovecot.recreate("mairie", "Demandes")
    dovecot.append("mairie", mail("Nouvelle C"), "Demandes")
    dovecot.append("mairie", mail("Nouvelle D"), "Demandes")
    dovecot.append("mairie", old_a, "Demandes", flags=[KEYWORD, b"\\Seen"])
    dovecot.append("mairie", old_b, "Demandes")
    validity = dovecot.uidvalidity("mairie", "Demandes")
    assert validity != before["uidvalidity"]
    with Pollers(settings, db, box):
        tickets(intake, 4)
        wait_for(lambda: all(KEYWORD in f for f in flags(dovecot, folder="Demandes")), 10, "marks")
    assert subjects(db) == ["Ancienne A", "Ancienne B", "Nouvelle C", "Nouvelle D"]
    assert count(db, JournalItem) == 5  # A not fetched again; B fetched, then found a duplicate
    assert count(db, JournalItem, JournalItem.status == JournalStatus.duplicate) == 1
    assert load_checkpoint(db, "imap:mairie") == {"uidvalidity": validity, "last_uid": 4}


def test_server_crash_is_reported_and_the_poller_resumes_by_itself(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database, intake: Intake
) -> None:
    # IDLE, with no periodic re-check before a minute: the crash must be noticed by itself.
    box = mailbox(dovecot, tmp_path, poll_seconds=60)
    dovecot.append("mairie", mail("Avant la panne 1"))
    dovecot.append("mairie", mail("Avant la panne 2"))
    with Pollers(settings, db, box) as pollers:
        tickets(intake, 2)
        dovecot.stop(kill=True)  # the poller sits in IDLE when the server dies
        down = failing(db, "imap:mairie")
        assert "connection" in down.last_error
        assert pollers.alive()
        dovecot.start()
        dovecot.append("mairie", mail("Après la panne 1"))
        dovecot.append("mairie", mail("Après la panne 2"))
        tickets(intake, 4, timeout=30)

        def recovered() -> bool:
            s = state(db, "imap:mairie")
            assert s is not None and s.last_error_at is not None
            return s.last_ok_at is not None and s.last_ok_at > s.last_error_at

        wait_for(recovered, 10, "the channel state to show the recovery")
    assert count(db, JournalItem) == 4
    assert subjects(db) == [
        "Après la panne 1",
        "Après la panne 2",
        "Avant la panne 1",
        "Avant la panne 2",
    ]


def test_a_journal_failure_leaves_the_message_for_the_next_attempt(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database, intake: Intake
) -> None:
    dovecot.append("mairie", mail("Demande de logement"))
    pollers = Pollers(settings, db, mailbox(dovecot, tmp_path))
    journal_append = pollers.runtime.ingest
    calls: list[int] = []

    def ingest(channel: str, raw: bytes, envelope: dict[str, Any]) -> int:
        calls.append(envelope["imap_uid"])
        if len(calls) == 1:
            raise OSError("disk full")  # not committed: the checkpoint must not move
        return journal_append(channel, raw, envelope)

    pollers.runtime.ingest = ingest
    with pollers:
        tickets(intake, 1)
        wait_for(lambda: all(KEYWORD in f for f in flags(dovecot)), 10, "the mail marked")
    assert calls == [1, 1]
    assert count(db, JournalItem) == 1
    current = state(db, "imap:mairie")
    assert current is not None and "OSError" in current.last_error


def test_unparseable_mail_is_quarantined_and_the_mailbox_carries_on(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database, intake: Intake
) -> None:
    dovecot.append("mairie", b"\x89PNG\r\n\x1a\n not an e-mail \xff\xfe")
    dovecot.append("mairie", (CORPUS / "15_no_from.eml").read_bytes())
    dovecot.append("mairie", mail("Après le courrier illisible"))
    with Pollers(settings, db, mailbox(dovecot, tmp_path)):
        tickets(intake, 1)
        wait_for(lambda: all(KEYWORD in f for f in flags(dovecot)), 10, "every mail marked")
    with db.read() as session:
        items = session.exec(select(JournalItem).order_by(col(JournalItem.id))).all()
    held = [m[b"BODY[]"] for m in dovecot.messages("mairie").values()]
    assert [i.status for i in items] == ["quarantined", "quarantined", "done"]
    assert [i.raw for i in items[:2]] == held[:2]  # the raw bytes are kept for a supervisor
    assert subjects(db) == ["Après le courrier illisible"]


def test_oversized_mail_is_still_journaled(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database, intake: Intake
) -> None:
    small = settings.model_copy(
        update={"smtp": settings.smtp.model_copy(update={"max_message_size": 2000})}
    )
    big = make_mail(subject="Pièces justificatives", body="x" * 10_000)
    dovecot.append("mairie", big)
    with Pollers(small, db, mailbox(dovecot, tmp_path)):
        wait_for(lambda: count(db, JournalItem) == 1, 10, "the big mail journaled")
    with db.read() as session:
        item = session.exec(select(JournalItem)).one()
    assert item.raw == big


def test_mailbox_team_routes_its_tickets(
    dovecot: Dovecot, tmp_path: Path, settings: Settings, db: Database
) -> None:
    # Without routing rules, since a rule's team overrides the mailbox's (see
    # tests/gateway/test_pipeline.py), and every mail here asks for a birth certificate, which
    # config/routing.toml sends to État civil.
    (tmp_path / "no-rules.toml").write_text("", encoding="utf-8")
    settings = settings.model_copy(update={"routing_file": tmp_path / "no-rules.toml"})
    intake = Intake(db, settings)
    dovecot.append("etatcivil", mail("Copie d'acte de mariage"))
    dovecot.append("mairie", mail("Horaires de la déchetterie", "Paul <paul@sfr.fr>"))
    boxes = (
        mailbox(dovecot, tmp_path, "etatcivil", team="État civil"),
        mailbox(dovecot, tmp_path, "mairie"),
    )
    with Pollers(settings, db, *boxes):
        tickets(intake, 2)
    with db.read() as session:
        routed = {
            t.subject: (session.get_one(Team, t.team_id).name if t.team_id else None)
            for t in session.exec(select(Ticket)).all()
        }
    assert routed == {"Copie d'acte de mariage": "État civil", "Horaires de la déchetterie": None}


def test_wrong_password_is_reported_and_other_mailboxes_keep_working(
    dovecot: Dovecot,
    tmp_path: Path,
    settings: Settings,
    db: Database,
    intake: Intake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAP_MAIRIE_PASSWORD", "pas le bon")
    wrong = mailbox(dovecot, tmp_path, password_file="", password_env="IMAP_MAIRIE_PASSWORD")
    dovecot.append("mairie", mail("Jamais lu"))
    dovecot.append("etatcivil", mail("Livret de famille"))
    with Pollers(settings, db, wrong, mailbox(dovecot, tmp_path, "etatcivil")) as pollers:
        tickets(intake, 1)
        down = failing(db, "imap:mairie")
        assert down.last_error.startswith("authentication failed")
        assert down.last_ok_at is None
        dovecot.append("etatcivil", mail("Recensement citoyen"))
        tickets(intake, 2)
        assert pollers.alive()
    assert subjects(db) == ["Livret de famille", "Recensement citoyen"]
    assert KEYWORD not in flags(dovecot)[0]  # never read, so never marked
    ok = state(db, "imap:etatcivil")
    assert ok is not None and ok.last_ok_at is not None and not ok.last_error


@contextmanager
def hung_server() -> Iterator[int]:
    """An IMAP server that greets and states its capabilities, then never answers a login:
    what a mail server whose authentication backend hangs looks like."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def talk(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn.makefile("rb") as lines:
            conn.sendall(b"* OK IMAP4rev1 ready\r\n")
            for line in lines:
                tag, _, command = line.decode().partition(" ")
                if command.upper().startswith("CAPABILITY"):
                    conn.sendall(f"* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n".encode())

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                held.append(conn)
                threading.Thread(target=talk, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn in held:
            conn.close()


def test_a_hung_server_is_reported_as_a_timeout_and_does_not_hold_up_shutdown(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    with hung_server() as port:
        box = ImapMailbox(
            name="mairie", port=port, ssl=False, username="accueil", timeout_seconds=0.5
        )
        with Pollers(settings, db, box):
            assert failing(db, "imap:mairie").last_error.startswith("timeout")
        # A long timeout: stopping while the login waits must still be prompt (Pollers checks).
        slow = box.model_copy(update={"timeout_seconds": 60.0})
        with Pollers(settings, db, slow):
            time.sleep(0.5)


def test_helpers() -> None:
    # UID n:* always returns the highest UID, even below n: it must not be fetched again.
    assert imap.fresh_uids([7], 7) == []
    assert imap.fresh_uids([9, 8, 8], 7) == [8, 9]
    box = ImapMailbox(name="mairie", username="accueil@mairie.example")
    text = imap.error_text(ConnectionRefusedError(111, "Connection refused"), box)
    assert text.startswith("connection refused")
    leak = imap.error_text(OSError("no such user accueil@mairie.example"), box)
    assert "accueil@" not in leak and leak.endswith("no such user …")
    # Other errors may quote what was being stored (a database error quotes its parameters).
    stored = RuntimeError("INSERT … parameters: (b'From: Marie Dupont <marie@orange.fr>')")
    assert imap.error_text(stored, box) == "error (RuntimeError)"
    short = ImapMailbox(name="mairie", username="u")
    assert imap.error_text(TimeoutError("timed out"), short) == "timeout (TimeoutError): timed out"


@pytest.mark.e2e
def test_guichet_serve_polls_a_mailbox(
    dovecot: Dovecot, tmp_path: Path, db_url: str, relay: support.Relay
) -> None:
    mailboxes = [
        {
            "name": "mairie",
            "host": "127.0.0.1",
            "port": dovecot.port,
            "ssl": False,
            "username": "mairie",
            "password_env": "GUICHET_TEST_IMAP_PASSWORD",
            "address": "mairie@mairie.example",
            "team": "État civil",
            "poll_seconds": 1,
        }
    ]
    env = {
        "GUICHET_IMAP": json.dumps(mailboxes),
        "GUICHET_TEST_IMAP_PASSWORD": PASSWORDS["mairie"],
    }
    dovecot.append("mairie", mail("Demande par IMAP"))
    gw = support.Gateway(db_url, tmp_path, relay.port, env_extra=env).start()
    try:
        db = Database(db_url)
        try:
            wait_for(lambda: count(db, Ticket) == 1, 30, "a ticket from the mailbox")
            dovecot.append("mairie", mail("Deuxième demande"))
            wait_for(lambda: count(db, Ticket) == 2, 30, "the second ticket")
            with db.read() as session:
                teams = {
                    session.get_one(Team, t.team_id).name for t in session.exec(select(Ticket))
                }
            assert teams == {"État civil"}
        finally:
            db.dispose()
        wait_for(lambda: all(KEYWORD in f for f in flags(dovecot)), 10, "both mails marked")
        assert gw.stop() == 0
    finally:
        if gw.proc is not None:
            gw.stop()
