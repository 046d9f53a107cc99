"""Teams by name, as configuration names them (routing categories, IMAP mailboxes, the CLI)."""

from __future__ import annotations

from sqlmodel import Session, select

from inbox.models import Team


def team_id(session: Session, name: str) -> int | None:
    """The id of the team called ``name``, created on first use; None for no name."""
    if not name:
        return None
    team = session.exec(select(Team).where(Team.name == name)).first()
    if team is None:
        # Two workers creating the same team at once: the unique name fails one transaction,
        # and its journal item is simply run again.
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team.id
