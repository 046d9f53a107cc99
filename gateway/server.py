"""One process: the HTTP app, the SMTP intake, the pipeline workers and the outbox sender.

Lifecycle: migrate, recover (pending journal items are simply picked up by the workers, which
is all "recovery after kill -9" needs), serve. SIGTERM or SIGINT drains: the SMTP listener
closes, messages being received are journaled and answered, HTTP requests finish, the journal
writer commits what it holds, each worker finishes its current item; then exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn

from channels import CHANNELS
from channels.base import Runtime
from gateway import migrate
from gateway.app import create_app
from gateway.core.channel_state import Reporter
from gateway.core.db import Database
from gateway.core.settings import Settings
from gateway.journal import Journal
from gateway.outbox import Outbox
from gateway.worker import Pipeline, every, run_loop, yielding
from inbox import web
from inbox.registry import CitizenRegistry

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = 30.0


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: this module owns the process lifecycle."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class _Background:
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def spawn(self, name: str, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self.threads.append(thread)

    def join(self, timeout: float) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)


async def serve(settings: Settings, host: str, http_port: int, smtp_port: int) -> int:
    db = Database(settings.database_url)
    migrate.upgrade(db.engine)
    wake, outbox_wake = threading.Event(), threading.Event()
    journal = Journal(db, on_commit=wake)
    journal.start()
    registry = CitizenRegistry(db, settings.matching)
    registry.refresh()  # the whole register, before the first message is matched
    pipeline = Pipeline(db, settings, registry, on_done=outbox_wake.set)
    outbox = Outbox(db, settings)
    background = _Background()
    background.spawn(
        "registry", every, registry.refresh, settings.matching.refresh_seconds, background.stop
    )
    # SQLite has one writer: more than one worker would only queue on its lock. Zero workers makes
    # an intake-only process (another process runs the pipeline on the shared database).
    workers = min(settings.pipeline.workers, 1) if db.is_sqlite else settings.pipeline.workers
    for n in range(workers):
        step = yielding(pipeline.process_one, journal, settings.pipeline.burst_share)
        background.spawn(f"pipeline-{n}", run_loop, step, wake, background.stop, 1.0)
    # Sending yields to intake in a burst too: an acknowledgement may wait seconds, a provider
    # waiting for its 200 may not (bench/channels.py).
    send = yielding(outbox.send_one, journal, settings.pipeline.burst_share)
    background.spawn("outbox", run_loop, send, outbox_wake, background.stop, 1.0)
    runtime = Runtime(
        settings=settings,
        db=db,
        ingest=journal.append_sync,
        report=Reporter(db),
        stop=background.stop,
    )
    for channel in CHANNELS.values():
        if channel.pollers is None or not channel.enabled(settings):
            continue
        # One thread per poller: a mailbox or an API that hangs never holds up another.
        for n, poll in enumerate(channel.pollers(runtime)):
            background.spawn(f"poll-{channel.name}-{n}", poll)

    # Channels that listen on a port of their own (the SMTP intake) answer only after the commit.
    listening = settings.model_copy(
        update={"smtp": settings.smtp.model_copy(update={"port": smtp_port})}
    )
    listeners = [
        await channel.listener(listening, host, journal.append)
        for channel in CHANNELS.values()
        if channel.listener is not None and channel.enabled(settings)
    ]
    app = create_app(settings, db, wake, registry, journal)
    http = _Uvicorn(
        uvicorn.Config(app, host=host, port=http_port, log_level="warning", access_log=False)
    )

    shutdown, loop = asyncio.Event(), asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, shutdown.set)
    http_task = asyncio.create_task(http.serve())
    log.info("guichet listening: http %s:%d, smtp %s:%d", host, http_port, host, smtp_port)
    await asyncio.wait(
        [http_task, asyncio.create_task(shutdown.wait())], return_when=asyncio.FIRST_COMPLETED
    )

    log.info("draining")
    for listener in listeners:
        listener.close()
    for listener in listeners:
        await listener.drain(DRAIN_TIMEOUT)
    web.close(app)  # live-update streams end, or uvicorn would wait for them
    http.should_exit = True
    await http_task
    # Pollers first: they may still be handing a payload to the journal writer.
    background.join(DRAIN_TIMEOUT)
    journal.stop()
    db.dispose()
    log.info("stopped")
    return 0 if http_task.exception() is None else 1
