"""The `guichet` command in a subprocess, as an administrator runs it: the imports of a register
and of a phone system's call records, and `serve` refusing a broken configuration."""

from __future__ import annotations

import os
import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from channels.phone.asterisk import zone
from gateway.core.db import Database
from gateway.core.models import JournalItem
from gateway.core.settings import Settings
from inbox.models import Call, Citizen, Ticket
from tests.conftest import Intake
from tests.support import GOOD_CATEGORY, GUICHET, contacts, rows

# --- guichet citizens import --------------------------------------------------------------------

REGISTER = (
    "external_id;first_name;last_name;birth_name;birth_date;email;phone;address;postcode;city;"
    "commentaire\r\n"
    "A1;Marie;Dupont;Martin;02/03/1984;marie.dupont@orange.fr;06 12 34 56 78;3 rue des Lilas;45000;"
    "Exemple-sur-Loire;ok\r\n"
    "A2;Jean-Pierre;Lefèvre;;1950-11-20;;0033 6 11 22 33 44;12 place de l'Église;45000;"
    "Exemple-sur-Loire;\r\n"
    "A3;Hélène;Gaël;;31/02/1990;;;;;;date impossible\r\n"
    ";Sans;Identifiant;;;;;;;;\r\n"
    "A5;Zoé;Œuvray;;;pas-une-adresse;;;;;\r\n"
    "A6;Noël;Bénard;;;;0692 12 34 56;1 rue de Saint-Denis;97400;Saint-Denis;Réunion\r\n"
)


def test_import_register_cp1252_semicolons_idempotent(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    path = tmp_path / "registre.csv"
    path.write_bytes(REGISTER.encode("cp1252"))
    env = {
        "GUICHET_DATABASE_URL": db.url,
        "GUICHET_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    first = subprocess.run(
        [GUICHET, "citizens", "import", str(path)], env=env, capture_output=True, text=True
    )
    assert first.returncode == 1, first.stderr
    assert "6 rows: 3 created, 0 updated, 0 unchanged, 3 rejected" in first.stdout
    assert "line 4: " in first.stderr and "31/02/1990" in first.stderr
    assert "line 5: external_id is empty" in first.stderr
    assert "line 6: invalid e-mail address 'pas-une-adresse'" in first.stderr
    with db.read() as s:
        jp = s.exec(select(Citizen).where(Citizen.external_id == "A2")).one()
        assert (jp.first_name, jp.last_name, jp.birth_date) == (
            "Jean-Pierre",
            "Lefèvre",
            "1950-11-20",
        )
        noel = s.exec(select(Citizen).where(Citizen.external_id == "A6")).one()
    assert contacts(db, jp.id or 0) == {"+33611223344"}
    assert contacts(db, noel.id or 0) == {"+262692123456"}
    again = subprocess.run(
        [GUICHET, "citizens", "import", str(path)], env=env, capture_output=True, text=True
    )
    assert "6 rows: 0 created, 0 updated, 3 unchanged, 3 rejected" in again.stdout
    with db.read() as s:
        assert len(s.exec(select(Citizen)).all()) == 3


# --- guichet serve ------------------------------------------------------------------------------


def test_guichet_serve_refuses_to_start_with_a_broken_routing_file(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(GOOD_CATEGORY + '[[rules]]\ncategory = "voirie"\npatterns = ["[a-"]\n')
    env = {
        **os.environ,
        "GUICHET_ROUTING_FILE": str(path),
        "GUICHET_DATA_DIR": str(tmp_path),
        "GUICHET_DATABASE_URL": f"sqlite:///{tmp_path / 'never.sqlite'}",
    }
    done = subprocess.run(
        [GUICHET, "serve", "--http-port", "0", "--smtp-port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"{path}: rule 1 (voirie): patterns: pattern '[a-'" in done.stderr
    assert not (tmp_path / "never.sqlite").exists()  # it stopped before touching anything


# --- guichet calls import -----------------------------------------------------------------------


def _cdr_line(fields: list[str | int]) -> str:
    return ",".join(
        str(f) if isinstance(f, int) else '"' + f.replace('"', '""') + '"' for f in fields
    )


def make_cdr(count: int, now: datetime) -> tuple[bytes, dict[str, int]]:
    """A Master.csv in Windows-1252 with a known mix of calls and a few bad rows."""
    rng = random.Random(4)
    lines, expected = [], {"calls": 0, "recent_missed": 0, "bad": 0}
    paris = zone("Europe/Paris")
    for i in range(count):
        if i % 50 == 7:
            lines.append(_cdr_line(["", "0612", "0240000000", "from-trunk", "x"]))
            expected["bad"] += 1
            continue
        recent = i % 2 == 0
        start = now - timedelta(hours=rng.uniform(1, 40) if recent else rng.uniform(60, 900))
        disposition = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED")[i % 4]
        answered = disposition == "ANSWERED"
        src = f"06{10_000_000 + i:08d}"
        local = start.astimezone(paris).replace(tzinfo=None)
        fmt = "%Y-%m-%d %H:%M:%S"
        lines.append(
            _cdr_line(
                [
                    "",
                    src,
                    "0240000000",
                    "from-trunk",
                    f'"Hélène Lefèvre, n°{i}" <{src}>',
                    f"SIP/trunk-{i:08x}",
                    f"SIP/20{i % 3}-{i:08x}",
                    "Dial",
                    "SIP/201,30,tT",
                    local.strftime(fmt),
                    (local + timedelta(seconds=8)).strftime(fmt) if answered else "",
                    (local + timedelta(seconds=70)).strftime(fmt),
                    70,
                    62 if answered else 0,
                    disposition,
                    "DOCUMENTATION",
                    f"17639{i:05d}.{i}",
                    "",
                ]
            )
        )
        expected["calls"] += 1
        expected["recent_missed"] += recent and not answered
    return ("\r\n".join(lines) + "\r\n").encode("cp1252"), expected


def test_asterisk_import_is_idempotent_and_recent_missed_calls_become_tickets(
    tmp_path: Path, db: Database, phone_intake: Intake
) -> None:
    data, expected = make_cdr(300, datetime.now(UTC))
    path = tmp_path / "Master.csv"
    path.write_bytes(data)
    env = {
        "GUICHET_DATABASE_URL": db.url,
        "GUICHET_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    command = [GUICHET, "calls", "import", str(path), "--format", "asterisk"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stderr
    calls, bad = expected["calls"], expected["bad"]
    assert f"300 rows, {calls} calls: {calls} journaled, 0 already imported, {bad} rejected" in (
        first.stdout
    )
    assert "line 8: 5 columns, at least 17 expected" in first.stderr
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert f"{calls} calls: 0 journaled, {calls} already imported" in again.stdout
    phone_intake.drain()
    third = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert f"{calls} calls: 0 journaled, {calls} already imported" in third.stdout

    assert len(rows(db, JournalItem)) == calls
    log = rows(db, Call)
    assert len(log) == calls
    assert sum(c.outcome == "answered" for c in log) == len([c for c in log if c.agent_user])
    with_ticket = [c for c in log if c.ticket_id is not None]
    assert len(with_ticket) == expected["recent_missed"]
    assert len(rows(db, Ticket)) == expected["recent_missed"]
    assert all(c.outcome in ("missed", "busy") and c.citizen_id for c in with_ticket)
