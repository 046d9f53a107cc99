"""Agents' credentials: passwords, bearer tokens and the session's anti-forgery token.

Passwords are hashed with argon2; bearer tokens are 256-bit random strings of which only the
SHA-256 is stored (a fast hash is right for high-entropy secrets: nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from sqlmodel import Session, select

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


def csrf_matches(request: Request, sent: object) -> bool:
    """Whether ``sent`` is this session's anti-forgery token."""
    expected = request.session.get("csrf") if "session" in request.scope else None
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and bool(sent)
        and hmac.compare_digest(sent, expected)
    )
