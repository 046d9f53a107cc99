"""Each channel's state: enabled, last message received, last error, backlog (stub)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["channels"])
