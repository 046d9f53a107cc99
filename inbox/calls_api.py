"""The call log: calls on a citizen's timeline, turning an answered call into a ticket (stub)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["calls"])
