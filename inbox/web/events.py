"""Live updates for open pages (server-sent events): which tickets just changed.

One poller per process asks the database, once a second, for the tickets updated since it last
looked, whichever process changed them (pipeline, another agent, a supervisor), and hands the
list to every open page. Events carry ticket ids only, never content; each page reloads what it
shows through the ordinary, permission-checked routes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from gateway.core.clock import utcnow
from gateway.core.db import Database
from inbox.deps import AccessDep
from inbox.models import Ticket

router = APIRouter()
KEEPALIVE_SECONDS = 15.0
# A transaction may commit a little after the updated_at it wrote: look back this far, and
# remember what was already announced so that nothing is announced twice.
LOOKBACK = timedelta(seconds=10)


@dataclass(frozen=True)
class Change:
    ticket_id: int
    team_id: int | None
    assignee_id: int | None


class ChangeFeed:
    def __init__(self, db: Database, interval: float = 1.0) -> None:
        self.db, self.interval = db, interval
        self._subscribers: set[asyncio.Queue[list[Change] | None]] = set()
        self._seen: dict[tuple[int, str], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def subscribe(self) -> asyncio.Queue[list[Change] | None]:
        queue: asyncio.Queue[list[Change] | None] = asyncio.Queue(maxsize=100)
        if self._closed:
            queue.put_nowait(None)
            return queue
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[list[Change] | None]) -> None:
        self._subscribers.discard(queue)

    def close(self) -> None:
        """End every open stream (the server is stopping)."""
        self._closed = True
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self._subscribers.clear()

    async def _run(self) -> None:
        while self._subscribers:
            await asyncio.sleep(self.interval)
            try:
                changes = await run_in_threadpool(self.changed)
            except Exception:  # the database is away: try again next time
                continue
            if not changes:
                continue
            for queue in list(self._subscribers):
                if queue.full():  # a page that stopped reading: it reloads on reconnect
                    continue
                queue.put_nowait(changes)

    def changed(self) -> list[Change]:
        """Tickets updated since the last look, each announced once."""
        now = time.monotonic()
        with self.db.read() as session:
            rows = session.exec(
                select(Ticket.id, Ticket.team_id, Ticket.assignee_id, Ticket.updated_at)
                .where(col(Ticket.updated_at) > utcnow() - LOOKBACK)
                .order_by(col(Ticket.updated_at))
                .limit(2000)
            ).all()
        fresh = []
        for ticket_id, team_id, assignee_id, updated_at in rows:
            key = (ticket_id or 0, updated_at.isoformat())
            if key not in self._seen:
                self._seen[key] = now
                fresh.append(Change(ticket_id or 0, team_id, assignee_id))
        horizon = now - 2 * LOOKBACK.total_seconds()
        self._seen = {k: t for k, t in self._seen.items() if t > horizon}
        return fresh


def feed_of(request: Request) -> ChangeFeed:
    state = request.app.state
    if not hasattr(state, "live"):
        state.live = ChangeFeed(state.db)
    feed: ChangeFeed = state.live
    return feed


@router.get("/events")
async def events(request: Request, access: AccessDep) -> StreamingResponse:
    feed = feed_of(request)
    me = access.agent.id

    async def stream() -> AsyncIterator[str]:
        queue = feed.subscribe()
        try:
            yield "retry: 3000\n\n"
            while True:
                try:
                    changes = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if changes is None:
                    return
                visible = [c for c in changes if c.team_id not in access.hidden_teams]
                if visible:
                    data = {
                        "ids": [c.ticket_id for c in visible],
                        "mine": [c.ticket_id for c in visible if c.assignee_id == me],
                    }
                    yield f"event: tickets\ndata: {json.dumps(data)}\n\n"
        finally:
            feed.unsubscribe(queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
