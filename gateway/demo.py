"""``guichet demo``: the real server on a throwaway database, with agents, citizens and mail.

Outgoing mail (acknowledgements, replies) goes to a local catcher that writes each message as
an ``.eml`` file in the demo directory, so the whole loop can be watched without a mail server.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import smtplib
import socket
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from gateway import migrate
from gateway.core.db import Database
from gateway.core.settings import Settings, get_settings
from gateway.demo_channels import Providers, drive
from gateway.demo_data import CITIZENS, DEMO_DOMAIN, demo_messages
from gateway.server import serve
from inbox.auth import hash_password
from inbox.citizens import upsert_register_rows
from inbox.models import Agent, Role, Team
from inbox.register import RegisterRow
from matching import normalize_phone

AGENTS = (
    ("admin@mairie.example", "Alice Administratrice", Role.admin, None),
    ("superviseur@mairie.example", "Sophie Superviseure", Role.supervisor, "Accueil"),
    ("agent@mairie.example", "Karim Agent", Role.agent, "Accueil"),
    ("etat-civil.agent@mairie.example", "Lucie Agent", Role.agent, "État civil"),
)


class _Catcher:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.strftime('%H%M%S')}-{secrets.token_hex(3)}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(db: Database) -> list[tuple[str, str, str]]:
    """Create the demo agents and citizens; return (email, role, password) for each agent."""
    credentials = []
    with db.write() as session:
        teams: dict[str, Team] = {}
        for email, name, role, team_name in AGENTS:
            team_id = None
            if team_name:
                team = teams.get(team_name) or Team(name=team_name)
                session.add(team)
                session.flush()
                teams[team_name], team_id = team, team.id
            password = secrets.token_urlsafe(12)
            session.add(
                Agent(
                    email=email,
                    name=name,
                    role=role,
                    team_id=team_id,
                    password_hash=hash_password(password),
                )
            )
            credentials.append((email, role.value, password))
        # The register goes in the way a town hall's own does: `guichet citizens import`'s code.
        rows = [
            RegisterRow(
                line=n,
                external_id=f"DEMO-{n:03d}",
                first_name=c.first_name,
                last_name=c.last_name,
                birth_name=c.birth_name,
                birth_date=c.birth_date,
                emails=(c.email,),
                phones=tuple(filter(None, [normalize_phone(c.phone)])),
                address=c.address,
                postcode=c.postcode,
                city=c.city,
            )
            for n, c in enumerate(CITIZENS, start=1)
        ]
        upsert_register_rows(session, rows)
    return credentials


def _send_demo_mail(port: int) -> None:
    for _ in range(200):  # wait for the server to listen
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                for raw in demo_messages():
                    smtp.sendmail("demo@localhost", [f"contact@{DEMO_DOMAIN}"], raw)
            return
        except OSError:
            time.sleep(0.1)


def run_demo(http_port: int, smtp_port: int) -> int:
    folder = Path(tempfile.mkdtemp(prefix="guichet-demo-"))
    with ExitStack() as stack:
        catcher = Controller(_Catcher(folder / "sent"), hostname="127.0.0.1", port=_free_port())
        catcher.start()
        stack.callback(catcher.stop)
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        providers = Providers(stack)
        settings = _settings(folder, catcher.port, providers, http_port)
        db = Database(settings.database_url)
        migrate.upgrade(db.engine)
        credentials = seed(db)
        db.dispose()
        print(f"\nGuichet demo — http://127.0.0.1:{http_port}/  (SMTP on 127.0.0.1:{smtp_port})")
        print(f"Outgoing mail is written to {folder / 'sent'}")
        print(
            "SMS, Telegram and X go to local simulators of Twilio, Telegram and X; "
            "phone calls come as CTI events\n"
        )
        for email, role, password in credentials:
            print(f"  {role:<11} {email:<34} {password}")
        print("\nCtrl-C stops the demo and deletes its data.\n", flush=True)
        threading.Thread(target=_send_demo_mail, args=(smtp_port,), daemon=True).start()
        url = f"http://127.0.0.1:{http_port}"
        threading.Thread(target=drive, args=(url, providers), daemon=True).start()
        return asyncio.run(serve(settings, "127.0.0.1", http_port, smtp_port))


def _settings(folder: Path, relay_port: int, providers: Providers, http_port: int) -> Settings:
    base = get_settings()
    channels = providers.settings(f"http://127.0.0.1:{http_port}")
    return Settings.model_validate(
        {
            **base.model_dump(),
            **channels,
            "data_dir": folder,
            "database_url": f"sqlite:///{folder / 'demo.sqlite'}",
            "secret_key": base.secret_key.get_secret_value(),
            "relay": {"host": "127.0.0.1", "port": relay_port},
            "smtp": {
                **base.smtp.model_dump(),
                "domains": [DEMO_DOMAIN],
                "from_address": f"contact@{DEMO_DOMAIN}",
            },
        }
    )
