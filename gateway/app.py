"""The FastAPI application: API, pages, health and metrics, composed once."""

from __future__ import annotations

import functools
import threading
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func
from sqlmodel import col, select
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Receive, Scope, Send

from channels import CHANNELS
from channels.webhooks import Webhooks
from gateway.core import metrics
from gateway.core.channel_state import Reporter
from gateway.core.db import Database
from gateway.core.models import JournalItem, JournalStatus
from gateway.core.settings import Settings
from gateway.core.timing import ServerTiming
from gateway.journal import Journal
from inbox import api, calls_api, channels_api, citizens_api, outbox, web
from inbox.models import Ticket
from inbox.registry import CitizenRegistry
from inbox.services import CLAIMABLE


class Guichet(FastAPI):
    """The app. Providers' webhooks skip FastAPI's per-request machinery: they go straight to
    their own route table (channels/webhooks.py), with this app in ``scope["app"]``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hooks = Webhooks()  # filled by create_app with the enabled channels' routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/webhooks/"):
            scope["app"] = self
            await self.hooks(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    db: Database,
    wake: threading.Event | None = None,
    registry: CitizenRegistry | None = None,
    journal: Journal | None = None,
) -> FastAPI:
    app = Guichet(
        title="Guichet",
        version="0.1.0",
        description="Passerelle de relation citoyen : tous les canaux, une seule file.",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.record_delivery = functools.partial(outbox.record_delivery, db)
    app.state.wake = wake or threading.Event()
    if registry is None:
        registry = CitizenRegistry(db, settings.matching)
        registry.refresh()
    app.state.registry = registry
    if journal is None:  # the app alone (tests): its own journal writer, for its lifetime
        journal = Journal(db, on_commit=app.state.wake)
        app.router.add_event_handler("startup", journal.start)
        app.router.add_event_handler("shutdown", journal.stop)
    app.state.ingest = journal.append
    app.state.report = Reporter(db)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="guichet_session",
        same_site="strict",
        https_only=settings.public_url.startswith("https://"),
        max_age=12 * 3600,
    )
    app.add_middleware(ServerTiming)  # added last: outermost, so it times the session too
    for channel in CHANNELS.values():
        if channel.webhooks is not None and channel.enabled(settings):
            app.hooks.include(channel.webhooks)
    app.include_router(api.router)
    app.include_router(citizens_api.router)
    app.include_router(calls_api.router)
    app.include_router(channels_api.router)
    web.install(app)

    def depths() -> dict[str, int]:
        with db.read() as session:
            queue = session.exec(
                select(func.count())
                .select_from(Ticket)
                .where(col(Ticket.assignee_id).is_(None), col(Ticket.status).in_(CLAIMABLE))
            ).one()
            journal = session.exec(
                select(func.count())
                .select_from(JournalItem)
                .where(JournalItem.status == JournalStatus.pending)
            ).one()
        return {"queue": queue, "journal": journal}

    def channel_states() -> list[dict[str, Any]]:
        with db.read() as session:
            return channels_api.channel_report(session, settings)

    collectors = (metrics.DepthCollector(depths), metrics.ChannelCollector(channel_states))
    for collector in collectors:
        metrics.REGISTRY.register(collector)

    def unregister() -> None:
        for collector in collectors:
            metrics.REGISTRY.unregister(collector)

    app.router.add_event_handler("shutdown", unregister)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        with db.read() as session:
            session.exec(select(1)).one()
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app
