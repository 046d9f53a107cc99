"""The providers' route table: what a provider or an attacker gets for a wrong path, method,
oversized body or a handler that crashes, and Twilio signatures signed with the URL's port."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from channels.simulators.twilio import TwilioSimulator
from channels.webhooks import MAX_BODY, Webhooks
from gateway.app import create_app
from gateway.core.db import Database
from gateway.core.settings import Settings, TelegramSettings
from tests.conftest import Intake
from tests.support import CITIZEN, PUBLIC, journal_count, with_twilio

SECRET = "wh-secret-41b2"


@pytest.fixture
def both(settings: Settings) -> Iterator[tuple[Settings, TwilioSimulator]]:
    with TwilioSimulator() as sim:
        conf = with_twilio(settings, sim)
        telegram = TelegramSettings(enabled=True, mode="webhook", secret_token=SECRET)
        yield conf.model_copy(update={"telegram": telegram}), sim


@pytest.fixture
def client(both: tuple[Settings, TwilioSimulator], db: Database) -> Iterator[TestClient]:
    conf, _sim = both
    with TestClient(create_app(conf, db, registry=Intake(db, conf).registry)) as c:
        yield c


def test_wrong_paths_and_methods_get_clear_errors_and_journal_nothing(
    client: TestClient, db: Database
) -> None:
    assert client.post("/webhooks/nowhere", content=b"x").status_code == 404
    assert client.post("/webhooks/cti/", content=b"x").status_code == 404  # no token at all
    resp = client.get("/webhooks/telegram")
    assert resp.status_code == 405 and resp.headers["allow"] == "POST"
    assert journal_count(db) == 0


def test_an_oversized_webhook_is_refused_before_any_handler_reads_it(
    client: TestClient, db: Database
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    huge = b'{"update_id": 1, "message": {"text": "' + b"a" * MAX_BODY + b'"}}'
    resp = client.post("/webhooks/telegram", content=huge, headers=headers)
    assert resp.status_code == 413
    assert journal_count(db) == 0
    # A normal update on the same path still goes through.
    small = b'{"update_id": 2, "message": {"message_id": 1, "date": 1, "text": "Bonjour",'
    small += b' "chat": {"id": 7, "type": "private"}, "from": {"id": 7, "is_bot": false,'
    small += b' "first_name": "Camille"}}}'
    assert client.post("/webhooks/telegram", content=small, headers=headers).status_code == 200
    assert journal_count(db) == 1


def test_twilio_signing_the_url_with_its_port_is_accepted_and_a_forgery_is_not(
    both: tuple[Settings, TwilioSimulator], client: TestClient, db: Database
) -> None:
    _conf, sim = both
    params = sim.sms_params(CITIZEN, "Bonjour, une question sur la cantine.")
    with_port = PUBLIC.replace(".fr", ".fr:443") + "/webhooks/twilio/sms"
    signature = sim.sign(with_port, params)
    hook = PUBLIC + "/webhooks/twilio/sms"
    assert sim.post_webhook(hook, params, client=client, signature=signature).status_code == 200
    other = sim.sign(PUBLIC + "/webhooks/twilio/voice", params)  # signed for another URL
    assert sim.post_webhook(hook, params, client=client, signature=other).status_code == 403
    assert journal_count(db) == 1


def test_a_crashing_handler_is_a_500_whose_log_holds_no_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = Webhooks()

    @hooks.post("/webhooks/boom/{token}")
    async def boom(request: Request) -> Response:
        body = (await request.body()).decode()
        if request.path_params["token"] != "t0k":
            raise HTTPException(403, "invalid token")
        raise RuntimeError(f"cannot handle {body}")

    @hooks.post("/webhooks/echo")
    async def echo(request: Request) -> Response:
        return PlainTextResponse(await request.body())

    client = TestClient(hooks)  # the route table alone: no lifespan to run
    with caplog.at_level(logging.DEBUG):
        assert client.post("/webhooks/echo", content=b"bonjour").text == "bonjour"
        denied = client.post("/webhooks/boom/other", content=b"x")
        assert (denied.status_code, denied.json()) == (403, {"detail": "invalid token"})
        resp = client.post("/webhooks/boom/t0k", content=b"marie.dupont@orange.fr")
    assert resp.status_code == 500
    assert "RuntimeError" in caplog.text and "marie.dupont" not in caplog.text
