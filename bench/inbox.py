"""Agent inbox benchmark: the queue page and the claim with 50 agents on a town hall's history.

The data is generated at run time, straight into the real schema (Alembic migrations) through
each database's bulk path (PostgreSQL: COPY for citizens, then ``INSERT … SELECT
generate_series`` for tickets and messages; SQLite: executemany in one transaction):
citizens with their contact points, tickets (about 80 % resolved or closed, 20 % new, open or
waiting for the citizen, 30 % of those assigned, a few % flagged for review, due dates such that
some are overdue, the five channels, six teams) and one short French inbound message per ticket.

Then a real ``guichet serve`` runs on that database and A virtual agents (2 supervisors, the
others spread over the teams), each on one keep-alive connection with its own bearer token, loop
for ``--seconds``: GET the queue page ``/``, POST ``/api/v1/queue/next`` (claim), then resolve
the claimed ticket (``POST /api/v1/tickets/{reference}/status``) so that the queue moves, each
action followed by a pause of ``--think`` seconds on average (uniform on 0 to twice that, and a
random start, so that agents do not act in lockstep; 0 for none: a stress test). The
figures are the server's own (the ``Server-Timing: app;dur=`` header of gateway/timing.py), with
the client's p95 for reference. Targets: queue page p95 < 100 ms, claim p95 < 50 ms, and no
ticket claimed twice (every claim's id unique across agents, and no ticket with two
``ticket.claimed`` audit events in the database). Exit status 1 if a target is missed.

    python bench/inbox.py [--pg-tickets 1000000] [--sqlite-tickets 100000] [--seconds 60]
                          [--agents 50] [--think 5] [--only sqlite|postgresql] [--explain]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sqlalchemy import or_
from sqlmodel import Session, col, select

from bench.channels import TEXTS as WEBHOOK_TEXTS
from gateway import migrate
from gateway.core.db import Database
from inbox.auth import issue_token
from inbox.models import Agent, Role, Team, Ticket
from inbox.permissions import Access
from inbox.queries import Queue, queue_query
from inbox.references import ALPHABET, _check_symbol
from inbox.services import CLAIMABLE, queue_order
from tests import support


def _words(text: str) -> list[str]:
    return text.split("|") if "|" in text else text.split()


TEAMS = ("Accueil", "État civil", "Urbanisme", "Voirie", "Scolaire", "Solidarités")
CATEGORIES = ("etat-civil", "urbanisme", "voirie", "scolaire", "proprete", "social", "")
CHANNELS = ("email", "sms", "phone", "telegram", "x")
CHANNEL_WEIGHTS = (45, 22, 15, 11, 7)
FIRST = _words(
    "Marie Jean Camille Nathalie Pierre Sophie Michel Isabelle Nicolas Catherine Thomas Léa "
    "Françoise Julien Chloé Philippe Manon Éric Inès Hélène Mathieu Zoé Gérard Anaïs Loïc"
)
LAST = _words(
    "Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|Simon|Laurent|"
    "Lefèvre|Michel|Garcia|David|Bertrand|Roux|Vincent|Fournier|Morel|Girard|André|"
    "Mercier|Dupont|Lambert|Bonnet|François|Martinez|Le Gall|Nguyen|Da Silva|Benali|"
    "Lefebvre-Rivière"
)
STREETS = (
    "rue des Écoles",
    "avenue Jean-Jaurès",
    "place de la Mairie",
    "rue du Moulin",
    "allée des Tilleuls",
    "chemin de la Croix",
    "boulevard Victor-Hugo",
)
SUBJECTS = (
    "Demande d'acte de naissance",
    "Inscription à la cantine scolaire",
    "Nid-de-poule rue des Tilleuls",
    "Rendez-vous carte d'identité",
    "Bruit de voisinage la nuit",
    "Dépôt sauvage près du stade",
    "Réservation de la salle des fêtes",
    "Permis de construire : où en est mon dossier ?",
    "Éclairage public en panne",
    "Ramassage des encombrants",
)
TEXTS = (
    *WEBHOOK_TEXTS,
    "Bonjour, je souhaite prendre rendez-vous pour renouveler ma carte d'identité.",
    "Le trou dans la chaussée devant l'école s'agrandit, un cycliste a failli tomber.",
)
TARGETS = {"queue": 100.0, "claim": 50.0}


def reference(n: int) -> str:
    """A valid reference, unique per ``n``: multiplying by a unit modulo 31⁷ is a bijection."""
    value = (n * 1_000_003 + 12_345) % len(ALPHABET) ** 7
    body = ""
    for _ in range(7):
        value, digit = divmod(value, len(ALPHABET))
        body += ALPHABET[digit]
    full = body + _check_symbol(body)
    return f"{full[:4]}-{full[4:]}"


# -- data -----------------------------------------------------------------------------------


@dataclass
class Plan:
    tickets: int
    citizens: int
    agents: int
    seed: int = 1
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


CITIZEN_COLS = _words(
    "id first_name last_name birth_name display_name birth_date address postcode city "
    "external_id created_at updated_at"
)
CONTACT_COLS = _words("id citizen_id kind value created_at")
TICKET_COLS = _words(
    "id reference citizen_id subject channel status priority team_id assignee_id needs_review "
    "review_reason due_at created_at updated_at last_inbound_at match_score match_candidates "
    "category first_response_at"
)
MESSAGE_COLS = _words(
    "id ticket_id direction channel citizen_id external_id sender sender_name subject text "
    "created_at delivery_status delivery_error"
)


def citizens(plan: Plan) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(plan.seed)
    for n in range(1, plan.citizens + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        born = f"{rng.randint(1930, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        at = plan.now - timedelta(days=rng.uniform(0, 3 * 365))
        yield (
            n,
            first,
            last,
            last if rng.random() < 0.8 else rng.choice(LAST),
            f"{first} {last}",
            born,
            f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
            f"41{rng.randint(0, 999):03d}",
            "Blois",
            f"REG-{n:07d}",
            at,
            at,
        )


def _email(n: int, first: str, last: str) -> str:
    local = f"{first}.{last}".lower().replace(" ", "-").replace("é", "e").replace("è", "e")
    return f"{local}.{n}@exemple.fr"


def contacts(plan: Plan) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(plan.seed + 1)
    n = 0
    for c in range(1, plan.citizens + 1):
        points = [("email", f"citoyen.{c}@exemple.fr")]
        if rng.random() < 0.6:
            points.append(("phone", f"+336{c:08d}"))
        if rng.random() < 0.1:
            points.append(("handle", f"telegram:{100_000 + c}"))
        for kind, value in points:
            n += 1
            yield (n, c, kind, value, plan.now - timedelta(days=400))


def sender(channel: str, citizen: int) -> str:
    if channel == "email":
        return f"citoyen.{citizen}@exemple.fr"
    if channel in ("sms", "phone"):
        return f"+336{citizen:08d}"
    return f"{channel}:{100_000 + citizen}"


def tickets_and_messages(
    plan: Plan, team_ids: list[int], agents_by_team: dict[int, list[int]]
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    rng = random.Random(plan.seed + 2)
    all_agents = [a for ids in agents_by_team.values() for a in ids]
    for n in range(1, plan.tickets + 1):
        channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        citizen = rng.randint(1, plan.citizens) if rng.random() < 0.96 else None
        roll = rng.random()
        if roll < 0.8:  # history
            status = "resolved" if roll < 0.5 else "closed"
            created = plan.now - timedelta(days=rng.uniform(10, 2 * 365))
        else:
            status = "new" if roll < 0.88 else ("open" if roll < 0.95 else "waiting_citizen")
            created = plan.now - timedelta(days=rng.uniform(0, 12))
        due = created + timedelta(days=rng.choice((2, 5, 5, 5, 10)))
        team = rng.choice(team_ids) if rng.random() < 0.8 else None
        assignee = None
        if status in ("resolved", "closed") or (status != "new" and rng.random() < 0.5):
            assignee = rng.choice(agents_by_team.get(team or -1) or all_agents)
        elif status == "new" and rng.random() < 0.1:
            assignee = rng.choice(all_agents)
        review = rng.random() < 0.03
        priority = 2 if rng.random() < 0.01 else (1 if rng.random() < 0.04 else 0)
        subject = rng.choice(SUBJECTS)
        text = rng.choice(TEXTS) + "\n" + rng.choice(TEXTS) + "\nCordialement"
        who = sender(channel, citizen or n)
        touched = created + timedelta(hours=rng.uniform(0, 48))
        responded = touched if status != "new" else None
        yield (
            (
                n,
                reference(n),
                citizen,
                subject if channel == "email" else text[:80],
                channel,
                status,
                priority,
                team,
                assignee,
                review,
                "citizen_uncertain" if review else "",
                due,
                created,
                touched,
                created,
                0.995 if citizen else None,
                "[]",
                rng.choice(CATEGORIES),
                responded,
            ),
            (
                n,
                n,
                "in",
                channel,
                citizen,
                f"<{n}.bench@exemple.fr>" if channel == "email" else f"{channel}-{n}",
                who,
                "",
                subject if channel == "email" else "",
                text,
                created,
                "",
                "",
            ),
        )


def make_agents(db: Database, count: int) -> tuple[list[int], dict[int, list[int]], list[str]]:
    """Teams, ``count`` agents (the first two supervisors) and a bearer token for each."""
    with db.write() as session:
        teams = [Team(name=name) for name in TEAMS]
        session.add_all(teams)
        session.flush()
        team_ids = [t.id or 0 for t in teams]
        agents = []
        for n in range(count):
            role = Role.supervisor if n < 2 else Role.agent
            agent = Agent(
                email=f"agent{n:02d}@mairie.example",
                name=f"Agent {n:02d}",
                role=role,
                team_id=team_ids[n % len(team_ids)],
            )
            agents.append(agent)
        session.add_all(agents)
        session.flush()
        tokens = [issue_token(session, a) for a in agents]
        by_team: dict[int, list[int]] = {}
        for a in agents:
            by_team.setdefault(a.team_id or 0, []).append(a.id or 0)
    return team_ids, by_team, tokens


def _reference_sql(value: str) -> str:
    """``reference()`` in SQL (``%`` doubled for psycopg); ``value`` = n·1000003 + 12345 mod 31⁷."""
    digits = [f"({value} / {len(ALPHABET) ** i} %% {len(ALPHABET)})::int" for i in range(7)]
    body = " || ".join(f"substr('{ALPHABET}', {d} + 1, 1)" for d in digits)
    check = " + ".join(f"{i + 1} * {d}" for i, d in enumerate(digits))
    return (
        f"left({body}, 4) || '-' || right({body}, 3) "
        f"|| substr('{ALPHABET}', ({check}) %% {len(ALPHABET)} + 1, 1)"
    )


# The same mix as tickets_and_messages() (which SQLite uses), generated by PostgreSQL itself:
# no row crosses the wire. Texts are chosen from the ticket id so that the message insert finds
# the ticket's subject again.
PG_TICKETS = """
INSERT INTO ticket (id, reference, citizen_id, subject, channel, status, priority, team_id,
    assignee_id, needs_review, review_reason, due_at, created_at, updated_at, last_inbound_at,
    match_score, match_candidates, category, first_response_at)
SELECT n, {reference}, citizen,
    CASE WHEN channel = 'email' THEN subject ELSE left((%(texts)s::text[])[1 + n %% 8], 80) END,
    channel, status, priority, team,
    CASE WHEN status IN ('resolved', 'closed') OR (status <> 'new' AND r_assign < 0.5)
         THEN pool[1 + floor(r_agent * cardinality(pool))::int]
         WHEN status = 'new' AND r_assign < 0.1
         THEN (%(everyone)s::int[])[1 + floor(r_agent * cardinality(%(everyone)s::int[]))::int] END,
    r_review < 0.03, CASE WHEN r_review < 0.03 THEN 'citizen_uncertain' ELSE '' END,
    created + due_days * interval '1 day', created, created + r_touch * interval '48 hours',
    created, CASE WHEN citizen IS NOT NULL THEN 0.995 END, '[]',
    (%(categories)s::text[])[1 + floor(r_cat * cardinality(%(categories)s::text[]))::int],
    CASE WHEN status <> 'new' THEN created + r_touch * interval '48 hours' END
FROM (
    SELECT n, r_assign, r_agent, r_review, r_touch, r_cat,
        (n::bigint * 1000003 + 12345) %% 27512614111 AS v,
        CASE WHEN r_status < 0.5 THEN 'resolved' WHEN r_status < 0.8 THEN 'closed'
             WHEN r_status < 0.88 THEN 'new' WHEN r_status < 0.95 THEN 'open'
             ELSE 'waiting_citizen' END AS status,
        CASE WHEN r_status < 0.8 THEN %(now)s - (10 + r_age * 720) * interval '1 day'
             ELSE %(now)s - r_age * 12 * interval '1 day' END AS created,
        CASE WHEN r_chan < 0.45 THEN 'email' WHEN r_chan < 0.67 THEN 'sms'
             WHEN r_chan < 0.82 THEN 'phone' WHEN r_chan < 0.93 THEN 'telegram'
             ELSE 'x' END AS channel,
        CASE WHEN r_cit < 0.96 THEN 1 + floor(r_cit / 0.96 * %(citizens)s)::int END AS citizen,
        CASE WHEN r_prio < 0.01 THEN 2 WHEN r_prio < 0.05 THEN 1 ELSE 0 END AS priority,
        (ARRAY[2, 5, 5, 5, 10])[1 + floor(r_due * 5)::int] AS due_days,
        (%(subjects)s::text[])[1 + floor(r_subject * cardinality(%(subjects)s::text[]))::int]
            AS subject,
        team, coalesce(pools.pool, %(everyone)s::int[]) AS pool
    FROM (
        SELECT n, random() AS r_status, random() AS r_age, random() AS r_chan,
            random() AS r_cit, random() AS r_prio, random() AS r_due, random() AS r_subject,
            random() AS r_assign, random() AS r_agent, random() AS r_review,
            random() AS r_touch, random() AS r_cat,
            CASE WHEN random() < 0.8
                 THEN (%(teams)s::int[])[1 + floor(random() * cardinality(%(teams)s::int[]))::int]
                 END AS team
        FROM generate_series(1, %(tickets)s) AS n
    ) AS draws
    LEFT JOIN ({pools}) AS pools (team_id, pool) ON pools.team_id = draws.team
) AS ticket
"""
PG_MESSAGES = """
INSERT INTO message (id, ticket_id, direction, channel, citizen_id, external_id, sender,
    sender_name, subject, text, created_at, delivery_status, delivery_error)
SELECT id, id, 'in', channel, citizen_id,
    CASE WHEN channel = 'email' THEN '<' || id || '.bench@exemple.fr>'
         ELSE channel || '-' || id END,
    CASE WHEN channel = 'email' THEN 'citoyen.' || coalesce(citizen_id, id) || '@exemple.fr'
         WHEN channel IN ('sms', 'phone')
         THEN '+336' || lpad(coalesce(citizen_id, id)::text, 8, '0')
         ELSE channel || ':' || (100000 + coalesce(citizen_id, id)) END,
    '', CASE WHEN channel = 'email' THEN subject ELSE '' END,
    (%(texts)s::text[])[1 + id %% 8] || E'\\n'
        || (%(texts)s::text[])[1 + (id * 7 + 3) %% 8] || E'\\nCordialement',
    created_at, '', ''
FROM ticket
"""


def load_postgresql(
    url: str, plan: Plan, team_ids: list[int], by_team: dict[int, list[int]]
) -> None:
    import psycopg

    pools = " UNION ALL ".join(
        f"SELECT {team}, ARRAY{sorted(ids)}" for team, ids in sorted(by_team.items())
    )
    params = {
        "now": plan.now,
        "tickets": plan.tickets,
        "citizens": plan.citizens,
        "teams": team_ids,
        "everyone": sorted(a for ids in by_team.values() for a in ids),
        "subjects": list(SUBJECTS),
        "texts": list(TEXTS),
        "categories": list(CATEGORIES),
    }
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SELECT setseed(%s)", (1 / (plan.seed + 1),))
        for table, cols, rows in (
            ("citizen", CITIZEN_COLS, citizens(plan)),
            ("contactpoint", CONTACT_COLS, contacts(plan)),
        ):
            with conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        tickets = PG_TICKETS.format(reference=_reference_sql("v"), pools=pools)
        conn.execute(tickets, params)
        conn.execute(PG_MESSAGES, params)
        for table in ("citizen", "contactpoint", "ticket", "message"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(path: str, plan: Plan, team_ids: list[int], by_team: dict[int, list[int]]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")

    def insert(table: str, cols: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(cols))
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
            (tuple(_sqlite_value(v) for v in row) for row in rows),
        )

    insert("citizen", CITIZEN_COLS, citizens(plan))
    insert("contactpoint", CONTACT_COLS, contacts(plan))
    pairs = list(tickets_and_messages(plan, team_ids, by_team))
    insert("ticket", TICKET_COLS, (t for t, _ in pairs))
    insert("message", MESSAGE_COLS, (m for _, m in pairs))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


# -- the queries, as the server runs them (for EXPLAIN) -------------------------------------


def explain(db: Database, team_id: int) -> None:
    """EXPLAIN the queue page's query and the claim's, compiled from the same expressions."""
    supervisor = Agent(id=0, email="", name="", role=Role.supervisor)
    page = queue_query(Access(supervisor, frozenset()), Queue())
    claim = (
        select(Ticket.id)
        .where(col(Ticket.assignee_id).is_(None), col(Ticket.status).in_(CLAIMABLE))
        .where(or_(col(Ticket.team_id).is_(None), Ticket.team_id == team_id))
        .order_by(*queue_order())
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    for name, query in (("queue page", page), ("claim (agent of a team)", claim)):
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        with Session(db.engine) as session:
            plan = session.connection().exec_driver_sql(prefix + sql).all()
            started = time.perf_counter()  # the query itself, rows fetched (not ORM objects)
            session.connection().exec_driver_sql(sql.replace(" FOR UPDATE SKIP LOCKED", "")).all()
            elapsed = (time.perf_counter() - started) * 1000
            session.rollback()
        print(f"  EXPLAIN {name} (the query alone: {elapsed:.1f} ms):")
        for row in plan:
            print("    " + " ".join(str(v) for v in row))


# -- load -----------------------------------------------------------------------------------


@dataclass
class Sample:
    server_ms: float
    client_ms: float
    status: int


@dataclass
class Results:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    claimed: list[int] = field(default_factory=list)
    empty: int = 0

    def add(self, endpoint: str, sample: Sample) -> None:
        self.samples.setdefault(endpoint, []).append(sample)


class Connection:
    """A minimal HTTP/1.1 keep-alive client: httpx would cost more CPU than the server's work
    on two shared cores. Returns (status, headers, body, client ms)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, str], bytes, float]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        body = json.dumps(payload).encode() if payload is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: fr\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Length: {len(body)}\r\n"
            + ("Content-Type: application/json\r\n" if payload is not None else "")
            + "\r\n"
        )
        started = time.perf_counter()
        try:
            self.writer.write(head.encode() + body)
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            # uvicorn closes a keep-alive connection idle for 5 s (a thinking agent): reconnect.
            self.close()
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            started = time.perf_counter()
            self.writer.write(head.encode() + body)
            raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            data = await self._chunks()
        else:
            data = b""
        return status, headers, data, (time.perf_counter() - started) * 1000

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        out = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            out += await self.reader.readexactly(size + 2)
            if size == 0:
                return out

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def server_ms(headers: dict[str, str]) -> float:
    for part in headers.get("server-timing", "").split(";"):
        if part.strip().startswith("dur="):
            return float(part.strip()[4:])
    raise AssertionError(f"no Server-Timing header in {headers}")


async def agent_loop(
    port: int, token: str, deadline: float, warmup_until: float, think: float, results: Results
) -> None:
    conn = Connection(port, token)
    # Agents act independently: a random pause of mean ``think`` (uniform on 0 to 2x), and a
    # random start, or fifty agents would hit the server in lockstep bursts.
    pause = random.Random(token)
    if think:
        await asyncio.sleep(pause.uniform(0, 2 * think))

    async def call(endpoint: str, method: str, path: str, payload: Any = None) -> tuple[int, bytes]:
        status, headers, body, client = await conn.request(method, path, payload)
        if time.monotonic() >= warmup_until:
            results.add(endpoint, Sample(server_ms(headers), client, status))
        if think:
            await asyncio.sleep(pause.uniform(0, 2 * think))
        return status, body

    try:
        while time.monotonic() < deadline:
            await call("queue", "GET", "/")
            status, body = await call("claim", "POST", "/api/v1/queue/next")
            if status == 200:
                ticket = json.loads(body)
                results.claimed.append(ticket["id"])
                path = f"/api/v1/tickets/{ticket['reference']}/status"
                await call("resolve", "POST", path, {"status": "resolved"})
            elif status == 204:
                results.empty += 1
    finally:
        conn.close()


def run_agents(
    port: int, tokens: list[str], seconds: float, warmup: float, think: float
) -> Results:
    results = Results()

    async def main() -> None:
        start = time.monotonic()
        await asyncio.gather(
            *(
                agent_loop(port, t, start + warmup + seconds, start + warmup, think, results)
                for t in tokens
            )
        )

    asyncio.run(main())
    return results


def start_guichet(db_url: str, data: Path) -> support.Gateway:
    """`guichet serve` as tests/support.Gateway runs it, with time to index 200 000 citizens."""
    gw = support.Gateway(db_url, data, support.free_port())
    gw.http_port, gw.smtp_port = support.free_port(), support.free_port()
    log = (data / "serve.log").open("ab")
    smtp = str(gw.smtp_port)
    gw.proc = subprocess.Popen(
        [support.GUICHET, "serve", "--http-port", str(gw.http_port), "--smtp-port", smtp],
        env=gw.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    support.wait_for(gw._ready, 600, "guichet serve to answer /healthz")
    return gw


def double_claims_in_db(db: Database) -> int:
    with Session(db.engine) as session:
        rows = session.connection().exec_driver_sql(
            "SELECT ticket_id FROM auditevent WHERE action = 'ticket.claimed' "
            "GROUP BY ticket_id HAVING count(*) > 1"
        )
        return len(rows.all())


# -- one database ---------------------------------------------------------------------------


@dataclass
class Outcome:
    backend: str
    plan: Plan
    load_s: float
    results: Results
    seconds: float
    double_client: int
    double_db: int


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def bench(backend: str, plan: Plan, args: argparse.Namespace) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        scope: AbstractContextManager[str] = (
            support.postgres_database()
            if backend == "postgresql"
            else nullcontext(f"sqlite:///{tmp}/guichet.sqlite")
        )
        with scope as url:
            db = Database(url)
            migrate.upgrade(db.engine)
            started = time.monotonic()
            team_ids, by_team, tokens = make_agents(db, plan.agents)
            loader = load_postgresql if backend == "postgresql" else load_sqlite
            loader(
                url if backend == "postgresql" else url.split("///", 1)[1], plan, team_ids, by_team
            )
            load_s = time.monotonic() - started
            print(
                f"{backend}: {plan.tickets} tickets, {plan.citizens} citizens loaded in "
                f"{load_s:.0f} s",
                flush=True,
            )
            if args.explain:
                explain(db, team_ids[2])
            gw = start_guichet(url, Path(tmp))
            try:
                print(f"{backend}: {plan.agents} agents for {args.seconds} s", flush=True)
                results = run_agents(gw.http_port, tokens, args.seconds, args.warmup, args.think)
            finally:
                gw.stop()
            if args.explain:
                print(f"  after the run ({len(results.claimed)} claims):")
                explain(db, team_ids[2])
            double_client = len(results.claimed) - len(set(results.claimed))
            double_db = double_claims_in_db(db)
            db.dispose()
    return Outcome(backend, plan, load_s, results, args.seconds, double_client, double_db)


def report(outcomes: list[Outcome], args: argparse.Namespace) -> bool:
    print(
        f"\ninbox benchmark: {args.agents} agents, {args.seconds:.0f} s after {args.warmup:.0f} s "
        f"of warm-up, think {args.think} s; times at the server (Server-Timing), client p95 "
        "for reference"
    )
    print(
        f"{'database':11} {'tickets':>9} {'citizens':>8} {'load':>6} {'endpoint':9} "
        f"{'count':>6} {'req/s':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'client p95':>10} "
        f"{'errors':>6}"
    )
    ok = True
    verdicts = []
    for o in outcomes:
        first = True
        for endpoint in ("queue", "claim", "resolve"):
            samples = o.results.samples.get(endpoint, [])
            srv = [s.server_ms for s in samples]
            errors = sum(1 for s in samples if s.status >= 300 and s.status != 204)
            lead = (
                f"{o.backend:11} {o.plan.tickets:9d} {o.plan.citizens:8d} {o.load_s:5.0f}s"
                if first
                else " " * 37
            )
            first = False
            print(
                f"{lead} {endpoint:9} {len(samples):6d} {len(samples) / o.seconds:6.1f} "
                f"{percentile(srv, 0.5):5.1f}ms {percentile(srv, 0.95):5.1f}ms "
                f"{percentile(srv, 0.99):5.1f}ms "
                f"{percentile([s.client_ms for s in samples], 0.95):8.1f}ms {errors:6d}"
            )
            if endpoint in TARGETS:
                p95 = percentile(srv, 0.95)
                met = p95 < TARGETS[endpoint] and errors == 0
                ok &= met
                verdicts.append(
                    f"{o.backend}: {endpoint} p95 {p95:.1f} ms < {TARGETS[endpoint]:.0f} ms: "
                    + ("met" if met else "NOT met")
                )
        doubles = o.double_client + o.double_db
        ok &= doubles == 0
        verdicts.append(
            f"{o.backend}: {len(o.results.claimed)} claims ({o.results.empty} empty queue), "
            f"claimed twice: {o.double_client} by the answers, {o.double_db} in the audit: "
            + ("met" if doubles == 0 else "NOT met")
        )
    print("\n".join(verdicts))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-tickets", type=int, default=1_000_000)
    parser.add_argument("--sqlite-tickets", type=int, default=100_000)
    parser.add_argument("--citizens-per-ticket", type=float, default=0.2)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument(
        "--think",
        type=float,
        default=5,
        help="mean seconds between an agent's actions (uniform on 0 to 2x; 0: none)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="print the queries' plans")
    args = parser.parse_args()
    backends = [args.only] if args.only else ["postgresql", "sqlite"]
    if "postgresql" in backends and not support.postgres_available():
        print(f"PostgreSQL not reachable at {support.PG_ADMIN_URL}: skipped")
        backends.remove("postgresql")
    outcomes = []
    for backend in backends:
        tickets = args.pg_tickets if backend == "postgresql" else args.sqlite_tickets
        plan = Plan(tickets, int(tickets * args.citizens_per_ticket), args.agents, args.seed)
        outcomes.append(bench(backend, plan, args))
    return 0 if report(outcomes, args) else 1


if __name__ == "__main__":
    sys.exit(main())
