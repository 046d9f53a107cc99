"""Teams created by name from several workers at once: one team, no failed transaction."""

from __future__ import annotations

import threading
import time

from sqlmodel import select

from gateway.core.db import Database
from inbox.models import Team
from inbox.teams import team_id


def test_two_transactions_creating_one_team_get_the_same_row(db: Database) -> None:
    first_inserted = threading.Event()
    ids: dict[str, int | None] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.write() as session:
                ids["first"] = team_id(session, "Voirie")
                first_inserted.set()
                time.sleep(0.5)  # the other worker arrives while this one has not committed
        except BaseException as exc:
            errors.append(exc)
            first_inserted.set()

    def second() -> None:
        first_inserted.wait(10)
        try:
            with db.write() as session:
                ids["second"] = team_id(session, "Voirie")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert ids["first"] is not None and ids["first"] == ids["second"]
    with db.read() as session:
        assert len(session.exec(select(Team).where(Team.name == "Voirie")).all()) == 1
    with db.read() as session:
        assert team_id(session, "") is None
