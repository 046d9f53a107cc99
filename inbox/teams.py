"""Teams by name, as configuration names them (routing categories, IMAP mailboxes, the CLI)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from inbox.models import Team


def team_id(session: Session, name: str) -> int | None:
    """The id of the team called ``name``, created on first use; None for no name.

    Two pipeline workers routing their first tickets to a new team at once must not fail one
    of them on the unique name (its message would wait for a retry): the insert skips a name
    that exists, waiting for the other transaction if it is still open, then reads the row.
    """
    if not name:
        return None
    found = session.exec(select(Team.id).where(Team.name == name)).first()
    if found is not None:
        return found
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    session.execute(dialect.insert(Team).values(name=name).on_conflict_do_nothing())
    return session.exec(select(Team.id).where(Team.name == name)).one()
