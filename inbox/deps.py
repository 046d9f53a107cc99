"""Every dependency a route declares, in one place, for the API and the pages alike.

The database, the settings and the citizen index the app was built with; who is asking
(``CurrentAgent``: a bearer token or the web session, CSRF-checked for a browser); what she
may see and do (``AccessDep``, the rules of ``inbox.permissions``); and the role gates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import col, select

from gateway.core.db import Database
from gateway.core.settings import Settings
from inbox.auth import CSRF_HEADER, ROLE_RANK, SAFE_METHODS, csrf_matches, token_hash
from inbox.models import Agent, AgentToken, Role
from inbox.permissions import Access, access_for
from inbox.registry import CitizenRegistry


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


Db = Annotated[Database, Depends(get_db)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_registry(request: Request) -> CitizenRegistry:
    registry: CitizenRegistry = request.app.state.registry
    return registry


Registry = Annotated[CitizenRegistry, Depends(get_registry)]


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, "Authentication required", {"WWW-Authenticate": "Bearer"}
    )


def current_agent(request: Request, db: Db) -> Agent:
    header = request.headers.get("authorization", "")
    with db.read() as session:
        if header.lower().startswith("bearer "):
            row = session.exec(
                select(Agent, AgentToken)
                .join(AgentToken, col(AgentToken.agent_id) == Agent.id)
                .where(AgentToken.token_hash == token_hash(header[7:].strip()))
            ).first()
            if row is None or not row[0].active:
                raise _unauthorized()
            return row[0]
        agent_id = request.session.get("agent_id") if "session" in request.scope else None
        agent = session.get(Agent, agent_id) if isinstance(agent_id, int) else None
        if agent is None or not agent.active:
            raise _unauthorized()
    # A browser's cookie rides along on forged cross-site requests; its token does not. Pages
    # check the token of their forms first (inbox.web.render.csrf_protect); the API wants the
    # header that htmx sends.
    checked = getattr(request.state, "csrf_checked", False)
    unsafe = request.method not in SAFE_METHODS and not checked
    if unsafe and not csrf_matches(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Missing or wrong CSRF token")
    return agent


def require(role: Role) -> Callable[[Agent], Agent]:
    def check(agent: Annotated[Agent, Depends(current_agent)]) -> Agent:
        if ROLE_RANK[Role(agent.role)] < ROLE_RANK[role]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"Requires the {role} role")
        return agent

    return check


CurrentAgent = Annotated[Agent, Depends(current_agent)]
SupervisorOnly = Annotated[Agent, Depends(require(Role.supervisor))]
AdminOnly = Annotated[Agent, Depends(require(Role.admin))]


def get_access(request: Request, agent: CurrentAgent, db: Db) -> Access:
    names: list[str] = request.app.state.settings.inbox.confidential_teams
    with db.read() as session:
        return access_for(session, agent, names)


AccessDep = Annotated[Access, Depends(get_access)]


def require_supervisor(access: AccessDep) -> Access:
    access.supervise()
    return access


SupervisorAccess = Annotated[Access, Depends(require_supervisor)]
