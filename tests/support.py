"""Test helpers: real databases, a real SMTP relay, and `guichet serve` as a subprocess; the
agents, citizens and channel accounts several test modules share (fixtures: ``conftest.py``).

Services a test needs but cannot find are a skip on a developer's laptop and a failure in CI
(``GUICHET_REQUIRE_SERVICES=1``, set by ``.ci/run``).
"""

from __future__ import annotations

import base64
import html
import os
import re
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from gateway.core.settings import Settings, TwilioSettings
from inbox.auth import hash_password, issue_token
from inbox.models import Agent, Citizen, ContactPoint, Role
from inbox.teams import team_id

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from channels.simulators.twilio import TwilioSimulator
    from gateway.core.db import Database

REQUIRE_SERVICES = os.environ.get("GUICHET_REQUIRE_SERVICES") == "1"
BACKEND = os.environ.get("GUICHET_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "GUICHET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
GUICHET = str(Path(sys.executable).with_name("guichet"))
ROOT = Path(__file__).resolve().parent.parent  # the repository
CORPUS = Path(__file__).resolve().parent / "corpus"  # real-world payloads, one folder a channel
T = TypeVar("T")


def need(available: bool, reason: str) -> None:
    """Skip (laptop) or fail (CI) when a service the test needs is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], T], timeout: float = 20.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    need(postgres_available(), f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"guichet_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_url(tmp_path: Path, backend: str = BACKEND) -> Iterator[str]:
    if backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'guichet.sqlite'}"


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 OK"


@dataclass
class Relay:
    """A real SMTP server standing in for the town hall's outgoing relay."""

    port: int
    recorder: _Recorder

    @property
    def messages(self) -> list[EmailMessage]:
        with self.recorder.lock:
            raws = [raw for _, _, raw in self.recorder.messages]
        return [message_from_bytes(raw, policy=policy.default) for raw in raws]

    def wait(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        wait_for(lambda: len(self.recorder.messages) >= count, timeout, f"{count} relayed messages")
        return self.messages


@contextmanager
def relay() -> Iterator[Relay]:
    recorder = _Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield Relay(controller.port, recorder)
    finally:
        controller.stop()


@dataclass
class Gateway:
    """`guichet serve` in a subprocess, on free ports, with its own data directory."""

    database_url: str
    data_dir: Path
    relay_port: int
    env_extra: dict[str, str] = field(default_factory=dict)
    http_port: int = 0
    smtp_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
        env.update(
            GUICHET_DATABASE_URL=self.database_url,
            GUICHET_DATA_DIR=str(self.data_dir),
            GUICHET_RELAY__PORT=str(self.relay_port),
            GUICHET_SMTP__DOMAINS='["mairie.example"]',
            GUICHET_SECRET_KEY="test-secret-" + "x" * 20,
        )
        env.update(self.env_extra)
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Gateway:
        self.http_port, self.smtp_port = free_port(), free_port()
        log = (self.data_dir / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [
                GUICHET,
                "serve",
                "--http-port",
                str(self.http_port),
                "--smtp-port",
                str(self.smtp_port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, 60, "guichet serve to answer /healthz")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"guichet serve exited with {self.proc.returncode}: {self.log()[-3000:]}"
            )
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return (self.data_dir / "serve.log").read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [GUICHET, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise AssertionError(f"guichet {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def agent_token(self, email: str, role: str = "agent", team: str | None = None) -> str:
        args = [
            "agents",
            "add",
            email,
            "--name",
            email.split("@")[0].title(),
            "--role",
            role,
            "--password-stdin",
        ]
        if team:
            args += ["--team", team]
        self.cli(*args, stdin="un mot de passe solide\n")
        return self.cli("agents", "token", email).strip()

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def send(
        self, raw: bytes, mail_from: str = "citoyen@example.fr", to: str = "contact@mairie.example"
    ) -> str:
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
            smtp.sendmail(mail_from, [to], raw)
            return "250"


def make_mail(
    sender: str = "Marie Dupont <marie.dupont@orange.fr>",
    subject: str = "Demande d'acte de naissance",
    body: str = (
        "Bonjour,\nJe souhaiterais obtenir une copie intégrale de mon acte de naissance.\n"
        "Cordialement,\nMarie Dupont"
    ),
    message_id: str | None = None,
    to: str = "etat-civil@mairie.example",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id or secrets.token_hex(8) + '@orange.fr'}>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)  # CRLF, as on the wire


def swaks_path() -> str | None:
    return shutil.which("swaks")


def send_outbox(db: Any, settings: Any) -> None:
    """Send every due outgoing message, as `serve`'s outbox loop would."""
    from gateway.outbox import Outbox

    outbox = Outbox(db, settings)
    while outbox.send_one():
        pass


def journal_count(db: Any) -> int:
    from sqlalchemy import func

    from gateway.core.models import JournalItem

    with db.read() as s:
        return int(s.exec(select(func.count()).select_from(JournalItem)).one())


def csrf_of(client: Any, path: str = "/login") -> str:
    """The CSRF token a page's forms carry (httpx.Client or Starlette TestClient)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token in {path}"
    return found[1]


def web_login(client: Any, email: str, password: str) -> Any:
    """Sign in through the form, as a browser would (CSRF token included); the 303 or the page."""
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )


def web_post(client: Any, path: str, data: dict[str, str], page: str = "/") -> Any:
    """A form POST from a signed-in page, with that page's CSRF token."""
    return client.post(
        path, data={**data, "csrf_token": csrf_of(client, page)}, follow_redirects=False
    )


def rows(db: Database, model: Any) -> list[Any]:
    """Every row of a table, in insertion order."""
    with db.read() as s:
        return list(s.exec(select(model).order_by(col(model.id))).all())


# --- agents and the pages ------------------------------------------------------------------------

PASSWORD = "un mot de passe solide"


def make_agent(
    db: Database, email: str, role: Role = Role.agent, team: str | None = None
) -> tuple[Agent, dict[str, str]]:
    """An agent signing in with PASSWORD, and the API headers of a token of theirs."""
    with db.write() as s:
        agent = Agent(
            email=email,
            name=email.split("@")[0],
            role=role,
            team_id=team_id(s, team or ""),
            password_hash=hash_password(PASSWORD),
        )
        s.add(agent)
        s.flush()
        token = issue_token(s, agent)
    return agent, {"Authorization": f"Bearer {token}"}


def signed_in(
    client: TestClient, db: Database, email: str, role: Role = Role.agent, team: str | None = None
) -> None:
    """A new agent, signed in through the form on ``client``."""
    make_agent(db, email, role, team)
    assert web_login(client, email, PASSWORD).status_code == 303


def text(response: httpx.Response) -> str:
    """A page as an agent reads it: entities unescaped."""
    return html.unescape(response.text)


# --- citizens ------------------------------------------------------------------------------------


class CitizenFields(TypedDict, total=False):
    birth_name: str
    birth_date: str
    address: str
    postcode: str
    city: str
    external_id: str


def add_citizen(
    db: Database, first: str, last: str, *contacts: tuple[str, str], **fields: Unpack[CitizenFields]
) -> int:
    """A register record with its contact points, ``(kind, value)``; its id."""
    with db.write() as s:
        c = Citizen(first_name=first, last_name=last, display_name=f"{first} {last}", **fields)
        s.add(c)
        s.flush()
        for kind, value in contacts:
            s.add(ContactPoint(citizen_id=c.id or 0, kind=kind, value=value))
        return c.id or 0


def contacts(db: Database, citizen_id: int) -> set[str]:
    with db.read() as s:
        return set(
            s.exec(select(ContactPoint.value).where(ContactPoint.citizen_id == citizen_id)).all()
        )


# --- routing -------------------------------------------------------------------------------------

# A routing file's one valid category, for the files a test writes (broken ones included).
GOOD_CATEGORY = '[categories.voirie]\nlabel = { fr = "Voirie", en = "Roads" }\nteam = "Voirie"\n'


# --- SMS through Twilio, against channels.simulators.twilio ------------------------------------

PUBLIC = "https://guichet.mairie-exemple.fr"  # the gateway's public URL, which Twilio signs
CITIZEN = "+33612345678"


def with_twilio(settings: Settings, sim: TwilioSimulator, **over: Any) -> Settings:
    """``settings`` with the SMS channel on, pointed at the local Twilio ``sim``."""
    values: dict[str, Any] = {
        "enabled": True,
        "account_sid": sim.account_sid,
        "auth_token": sim.auth_token,
        "from_number": sim.number,
        "api_base": sim.base_url,
        "media_hosts": [sim.media_host],
        **over,
    }
    return settings.model_copy(update={"public_url": PUBLIC, "twilio": TwilioSettings(**values)})


# --- the phone channel: CTI webhooks and Twilio Voice (fixtures `media`, `phone_settings`) -----

PHONE_PUBLIC = "https://guichet.mairie.example"
CTI_TOKEN = "cti-token-4f9c2e7a1b"
VOICE_ACCOUNT = "AC" + "0" * 30 + "11"
VOICE_AUTH_TOKEN = "twilio-auth-token-0123456789abcdef"


class MediaHost:
    """Twilio's media host, standing in: serves recordings to the account's basic auth."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, str]] = []  # (path, authorization)
        self.lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with host.lock:
                    host.requests.append((self.path, self.headers.get("Authorization", "")))
                credentials = f"{VOICE_ACCOUNT}:{VOICE_AUTH_TOKEN}".encode()
                expected = "Basic " + base64.b64encode(credentials).decode()
                status, body = host.files.get(self.path, (404, b"not found"))
                if self.headers.get("Authorization") != expected:
                    status, body = 401, b"unauthorized"
                if status in (301, 302):
                    self.send_response(status)
                    self.send_header("Location", body.decode())
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", "audio/mpeg" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.netloc = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.netloc}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
