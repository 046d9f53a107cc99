"""The ``guichet`` command: serve, demo, database migrations, agents."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import Counter
from pathlib import Path

import click
from sqlmodel import select

from gateway import migrate
from gateway.core.db import Database
from gateway.core.settings import Settings, get_settings
from gateway.core.spreadsheet import RowError, decode
from inbox import routing
from inbox.auth import hash_password, issue_token
from inbox.citizens import upsert_register_rows
from inbox.models import Agent, Role
from inbox.register import RegisterRow, read_register
from inbox.routing import RoutingError
from inbox.teams import team_id


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiosmtpd logs every envelope address at INFO: personal data stays out of our logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # HTTP client libraries log request URLs at INFO: a Telegram URL carries the bot token,
    # others carry phone numbers. Warnings only.
    for name in ("httpx", "httpcore", "urllib3", "twilio.http_client", "tweepy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _db(settings: Settings) -> Database:
    db = Database(settings.database_url)
    migrate.upgrade(db.engine)
    return db


IMPORT_BATCH = 500


@click.group()
def main() -> None:
    """Guichet: every channel a citizen uses, one inbox for the town hall."""
    _setup_logging()


@main.command()
@click.option("--host", default=None, help="Address to listen on (default from settings)")
@click.option("--http-port", type=int, default=None)
@click.option("--smtp-port", type=int, default=None)
def serve(host: str | None, http_port: int | None, smtp_port: int | None) -> None:
    """Run the HTTP API and the SMTP intake in one process."""
    from gateway.server import serve as run

    s = get_settings()
    try:
        routing.of(s)  # a broken routing file stops the start, not the first ticket
    except RoutingError as exc:
        raise click.ClickException(str(exc)) from exc
    code = asyncio.run(
        run(s, host or s.http.host, http_port or s.http.port, smtp_port or s.smtp.port)
    )
    sys.exit(code)


@main.command()
@click.option("--http-port", type=int, default=8000)
@click.option("--smtp-port", type=int, default=2525)
def demo(http_port: int, smtp_port: int) -> None:
    """Serve a throwaway database seeded with agents, citizens and French e-mails."""
    from gateway.demo import run_demo

    sys.exit(run_demo(http_port, smtp_port))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    database = _db(get_settings())
    database.dispose()
    click.echo("database is up to date")


@main.group()
def agents() -> None:
    """Agent accounts."""


@agents.command("add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.agent.value)
@click.option("--team", default=None, help="Team name (created if new)")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def agents_add(email: str, name: str, role: str, team: str | None, password_stdin: bool) -> None:
    """Create or update an agent account."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
    if password_stdin and len(password) < 12:
        raise click.UsageError("the password must be at least 12 characters long")
    database = _db(get_settings())
    with database.write() as session:
        agent_team = team_id(session, team or "")
        address = email.strip().lower()
        agent = session.exec(select(Agent).where(Agent.email == address)).first() or Agent(
            email=address, name=name
        )
        agent.name, agent.role, agent.team_id = name, role, agent_team
        if password:
            agent.password_hash = hash_password(password)
        session.add(agent)
    click.echo(f"agent {address} ({role}) saved")


@agents.command("token")
@click.argument("email")
def agents_token(email: str) -> None:
    """Print a new bearer token for an agent (only its hash is stored)."""
    database = _db(get_settings())
    with database.write() as session:
        agent = session.exec(select(Agent).where(Agent.email == email.strip().lower())).first()
        if agent is None:
            raise click.ClickException(f"no agent {email}")
        token = issue_token(session, agent)
    click.echo(token)


@main.group()
def citizens() -> None:
    """Citizen records."""


@citizens.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def citizens_import(path: Path) -> None:
    """Load an existing register (CSV: external_id, first_name, last_name, birth_name,
    birth_date, email, phone, address, postcode, city). Idempotent on external_id; bad rows are
    reported with their line number and skipped. Exits 1 if any row was rejected."""
    settings = get_settings()
    try:
        rows = list(read_register(path.read_bytes(), settings.matching.default_region))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    database = _db(settings)
    outcome: Counter[str] = Counter()
    errors = [r for r in rows if isinstance(r, RowError)]
    good = [r for r in rows if isinstance(r, RegisterRow)]
    with click.progressbar(length=len(good), label="Import", file=sys.stderr) as bar:
        for start in range(0, len(good), IMPORT_BATCH):
            batch = good[start : start + IMPORT_BATCH]
            with database.write() as session:
                outcome += upsert_register_rows(session, batch)
            bar.update(len(batch))
    for error in errors:
        click.echo(f"line {error.line}: {error.reason}", err=True)
    click.echo(
        f"{len(rows)} rows: {outcome['created']} created, {outcome['updated']} updated, "
        f"{outcome['unchanged']} unchanged, {len(errors)} rejected"
    )
    database.dispose()
    if errors:
        sys.exit(1)


@main.group()
def calls() -> None:
    """The call log."""


@calls.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["asterisk"]), default="asterisk", show_default=True
)
@click.option(
    "--callbacks-since",
    "hours",
    type=click.FloatRange(min=0),
    default=48.0,
    show_default=True,
    help="Missed calls that ended within this many hours become call-back tickets; "
    "older ones are only logged.",
)
@click.option("--timezone", "tz_name", default="Europe/Paris", show_default=True)
def calls_import(path: Path, fmt: str, hours: float, tz_name: str) -> None:
    """Journal an Asterisk CDR file (cdr_csv's Master.csv) for `guichet serve` to process.
    Idempotent on uniqueid; bad rows are reported with their line number and skipped. Exits 1
    if any row was rejected."""
    from channels.phone import asterisk as cdr
    from gateway.calls_import import journal_calls

    settings = get_settings()
    try:
        tz = cdr.zone(tz_name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timezone") from exc
    parsed = list(cdr.read_rows(decode(path.read_bytes()), tz))
    errors = [r for r in parsed if isinstance(r, RowError)]
    good = cdr.group(r for r in parsed if not isinstance(r, RowError))
    envelope = cdr.import_envelope(tz_name, hours, settings.language)
    database = _db(settings)
    with click.progressbar(length=len(good), label="Import", file=sys.stderr) as bar:
        journaled, known = journal_calls(database, path, good, envelope, bar)
    database.dispose()
    for error in errors:
        click.echo(f"line {error.line}: {error.reason}", err=True)
    click.echo(
        f"{len(parsed)} rows, {len(good)} calls: {journaled} journaled, "
        f"{known} already imported, {len(errors)} rejected"
    )
    if errors:
        sys.exit(1)
