"""E-mail from existing mailboxes over IMAP (stub: being written)."""

from __future__ import annotations

from collections.abc import Callable

from channels.base import Runtime
from gateway.settings import Settings


def pollers(runtime: Runtime) -> list[Callable[[], None]]:
    return []


def state_names(settings: Settings) -> list[str]:
    return [f"imap:{m.name}" for m in settings.imap]
