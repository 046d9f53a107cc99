"""Who may see and do what: one copy of the rules, for the API and the pages alike.

- Agents work unassigned tickets and their own; supervisors and admins any ticket.
- Tickets of a confidential team (``[inbox] confidential_teams``, "Action sociale" by default:
  social files hold sensitive personal data) exist only for that team's agents and for
  supervisors. To anyone else they answer 404, not 403, so that not even their existence leaks,
  and they are left out of every list, count, search and live update.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, or_, select

from inbox.auth import ROLE_RANK
from inbox.models import Agent, Role, Team, Ticket


@dataclass(frozen=True)
class Access:
    agent: Agent
    hidden_teams: frozenset[int]  # confidential teams this agent is not part of

    @property
    def supervisor(self) -> bool:
        return ROLE_RANK[Role(self.agent.role)] >= ROLE_RANK[Role.supervisor]

    def tickets(self) -> ColumnElement[bool]:
        """A WHERE clause keeping only the tickets this agent may see."""
        if not self.hidden_teams:
            return true()
        return or_(
            col(Ticket.team_id).is_(None), col(Ticket.team_id).not_in(sorted(self.hidden_teams))
        )

    def may_view(self, ticket: Ticket) -> bool:
        return ticket.team_id not in self.hidden_teams

    def may_act(self, ticket: Ticket) -> bool:
        return self.may_view(ticket) and (
            self.supervisor or ticket.assignee_id in (None, self.agent.id)
        )

    def view(self, ticket: Ticket | None) -> Ticket:
        """The ticket, or 404 if it does not exist for this agent."""
        if ticket is None or not self.may_view(ticket):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such ticket")
        return ticket

    def act(self, ticket: Ticket | None) -> Ticket:
        """The ticket, if this agent may change it (403 when it is another agent's)."""
        ticket = self.view(ticket)
        if not self.may_act(ticket):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "This ticket is assigned to another agent"
            )
        return ticket

    def supervise(self) -> None:
        if not self.supervisor:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Requires the supervisor role")


def confidential_team_ids(session: Session, names: list[str]) -> frozenset[int]:
    if not names:
        return frozenset()
    ids = session.exec(select(Team.id).where(col(Team.name).in_(names))).all()
    return frozenset(i for i in ids if i is not None)


def access_for(session: Session, agent: Agent, confidential: list[str]) -> Access:
    hidden: frozenset[int] = frozenset()
    if ROLE_RANK[Role(agent.role)] < ROLE_RANK[Role.supervisor]:
        hidden = confidential_team_ids(session, confidential) - {agent.team_id}
    return Access(agent, hidden)
