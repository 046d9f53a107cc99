from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from gateway import migrate
from gateway.app import create_app
from gateway.core.db import Database
from gateway.core.settings import CtiSettings, Settings, TwilioSettings
from tests import support


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with support.database_url(tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        secret_key="test-secret-key-0123456789",
        smtp={"domains": ["mairie.example"], "from_address": "contact@mairie.example"},
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def client(settings: Settings, db: Database, intake: Intake) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db, registry=intake.registry)) as c:
        yield c


@pytest.fixture
def relay() -> Iterator[support.Relay]:
    with support.relay() as r:
        yield r


@pytest.fixture
def gateway(tmp_path: Path, db_url: str, relay: support.Relay) -> Iterator[support.Gateway]:
    gw = support.Gateway(db_url, tmp_path, relay.port)
    gw.start()
    yield gw
    if gw.proc is not None:
        gw.stop()


class Intake:
    """Journal raw mail and run the pipeline in-process, as `guichet serve` would."""

    def __init__(self, db: Database, settings: Settings) -> None:
        from gateway.worker import Pipeline
        from inbox.registry import CitizenRegistry

        self.db = db
        self.settings = settings
        self.registry = CitizenRegistry(db, settings.matching)
        self.pipeline = Pipeline(db, settings, self.registry)

    def __call__(
        self, raw: bytes, mail_from: str = "", rcpt: str = "contact@mairie.example"
    ) -> int:
        from gateway.core.models import JournalItem

        with self.db.write() as session:
            item = JournalItem(
                channel="email", raw=raw, envelope={"mail_from": mail_from, "rcpt_tos": [rcpt]}
            )
            session.add(item)
            session.flush()
            item_id = item.id or 0
        self.drain()
        return item_id

    def drain(self) -> None:
        """Run the pipeline until the journal is empty, as `serve`'s workers would."""
        self.registry.refresh()  # what the refresh loop of `serve` does twice a second
        while self.pipeline.process_one():
            pass


@pytest.fixture
def intake(db: Database, settings: Settings) -> Intake:
    return Intake(db, settings)


@pytest.fixture
def media() -> Iterator[support.MediaHost]:
    host = support.MediaHost()
    yield host
    host.stop()


@pytest.fixture
def phone_settings(settings: Settings, media: support.MediaHost) -> Settings:
    """The phone channel on: CTI webhooks and Twilio Voice, recordings on the `media` host."""
    return settings.model_copy(
        update={
            "public_url": support.PHONE_PUBLIC,
            "cti": CtiSettings(enabled=True, token=SecretStr(support.CTI_TOKEN)),
            "twilio": TwilioSettings(
                enabled=True,
                account_sid=support.VOICE_ACCOUNT,
                auth_token=SecretStr(support.VOICE_AUTH_TOKEN),
                media_hosts=[media.netloc],
            ),
        }
    )


@pytest.fixture
def phone_intake(db: Database, phone_settings: Settings) -> Intake:
    return Intake(db, phone_settings)
