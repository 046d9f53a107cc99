"""This process's citizen index: built from the database at start, kept current by polling.

Matching runs in memory (``matching.CitizenIndex``); the database stays the truth. Every process
re-reads the citizens changed since its last look (``updated_at``, with an overlap that covers
transactions committing late) every ``matching.refresh_seconds``, so a citizen created or edited
by any process is visible to matching everywhere within a second.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from gateway.core.db import Database
from gateway.core.settings import MatchingSettings
from inbox.models import Citizen, ContactPoint
from matching import CitizenIndex, Identity, Match

OVERLAP = timedelta(seconds=10)


def identity_of(citizen: Citizen, contacts: Iterable[ContactPoint]) -> Identity:
    by_kind: dict[str, list[str]] = {"email": [], "phone": [], "handle": []}
    for contact in contacts:
        by_kind.setdefault(contact.kind, []).append(contact.value)
    return Identity(
        first_name=citizen.first_name,
        last_name=citizen.last_name,
        birth_name=citizen.birth_name,
        birth_date=citizen.birth_date,
        address=citizen.address,
        postcode=citizen.postcode,
        city=citizen.city,
        name="" if (citizen.first_name or citizen.last_name) else citizen.display_name,
        email=by_kind["email"],
        phone=by_kind["phone"],
        handle=by_kind["handle"],
    )


class CitizenRegistry:
    def __init__(self, db: Database, settings: MatchingSettings) -> None:
        self.db = db
        self.index = CitizenIndex(
            link_threshold=settings.link_threshold,
            review_threshold=settings.review_threshold,
            default_region=settings.default_region,
        )
        self._lock = threading.Lock()  # the index is not thread-safe; matching is fast
        self._seen_until: datetime | None = None

    def match(self, query: Identity) -> Match:
        with self._lock:
            return self.index.match(query)

    def load(
        self, session: Session, ids: Iterable[int] | None = None, since: datetime | None = None
    ) -> datetime | None:
        """(Re)index the given citizens, those changed since ``since``, or all; return the
        latest ``updated_at`` seen."""
        query = select(Citizen)
        if ids is not None:
            query = query.where(col(Citizen.id).in_(list(ids)))
        if since is not None:
            query = query.where(Citizen.updated_at >= since)
        latest: datetime | None = None
        rows = session.exec(query.order_by(col(Citizen.id)).execution_options(yield_per=5000))
        for chunk in _chunks(rows, 5000):
            contacts: dict[int, list[ContactPoint]] = {}
            chunk_ids = [c.id for c in chunk]
            held = select(ContactPoint).where(col(ContactPoint.citizen_id).in_(chunk_ids))
            for cp in session.exec(held):
                contacts.setdefault(cp.citizen_id, []).append(cp)
            with self._lock:
                for citizen in chunk:
                    cid = citizen.id or 0
                    if cid in self.index:
                        self.index.remove(cid)
                    if citizen.merged_into_id is None:
                        self.index.add(cid, identity_of(citizen, contacts.get(cid, [])))
                    if latest is None or citizen.updated_at > latest:
                        latest = citizen.updated_at
        return latest

    def reload(self, ids: Iterable[int]) -> None:
        """Re-index these citizens now, after a change this process has just committed."""
        with self.db.read() as session:
            self.load(session, ids=ids)

    def refresh(self) -> None:
        """Pick up citizens changed anywhere since the last look."""
        since = self._seen_until - OVERLAP if self._seen_until else None
        with self.db.read() as session:
            latest = self.load(session, since=since)
        if latest is not None and (self._seen_until is None or latest > self._seen_until):
            self._seen_until = latest

    def forget(self, citizen_id: Hashable) -> None:
        with self._lock:
            if citizen_id in self.index:
                self.index.remove(citizen_id)


def _chunks(rows: Iterable[Citizen], size: int) -> Iterable[list[Citizen]]:
    chunk: list[Citizen] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
