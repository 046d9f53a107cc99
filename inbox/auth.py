"""Agents' credentials and the permission dependencies every route declares.

Passwords are hashed with argon2; bearer tokens are 256-bit random strings of which only the
SHA-256 is stored (a fast hash is right for high-entropy secrets: nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session, col, select

from gateway.core.db import Database
from inbox.models import Agent, AgentToken, Role

_hasher = PasswordHasher()
ROLE_RANK = {Role.agent: 1, Role.supervisor: 2, Role.admin: 3}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, agent: Agent) -> str:
    """Create a bearer token for ``agent``; the clear token is returned once and never stored."""
    token = "gch_" + secrets.token_urlsafe(32)
    session.add(AgentToken(agent_id=agent.id or 0, token_hash=token_hash(token)))
    return token


def authenticate(session: Session, email: str, password: str) -> Agent | None:
    agent = session.exec(select(Agent).where(Agent.email == email.strip().lower())).first()
    if agent is None or not agent.active:
        hash_password(password)  # same cost whether or not the account exists
        return None
    return agent if verify_password(agent.password_hash, password) else None


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


Db = Annotated[Database, Depends(get_db)]


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


def csrf_matches(request: Request, sent: object) -> bool:
    """Whether ``sent`` is this session's anti-forgery token."""
    expected = request.session.get("csrf") if "session" in request.scope else None
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and bool(sent)
        and hmac.compare_digest(sent, expected)
    )


def require(role: Role) -> Callable[[Agent], Agent]:
    def check(agent: Annotated[Agent, Depends(current_agent)]) -> Agent:
        if ROLE_RANK[Role(agent.role)] < ROLE_RANK[role]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"Requires the {role} role")
        return agent

    return check


CurrentAgent = Annotated[Agent, Depends(current_agent)]
SupervisorOnly = Annotated[Agent, Depends(require(Role.supervisor))]
AdminOnly = Annotated[Agent, Depends(require(Role.admin))]
