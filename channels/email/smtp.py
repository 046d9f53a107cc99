"""E-mail in over SMTP: the aiosmtpd handler and the listener ``guichet serve`` starts.

The handler only verifies and journals (house style 1): RCPT is refused with 550 for a domain
we do not serve, DATA larger than the limit gets 552, and 250 is given only once the raw bytes
are committed to the journal; if that commit fails the client gets 451 and its MTA retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiosmtpd.smtp import SMTP

from channels.base import Ingest
from channels.email.parse import normalize_address
from gateway.core import metrics
from gateway.core.settings import Settings

log = logging.getLogger(__name__)


class IntakeHandler:
    """aiosmtpd handler: RCPT policy, then journal-before-250."""

    def __init__(
        self, domains: Sequence[str], append: Ingest, on_received: Callable[[], None]
    ) -> None:
        self.domains = {d.lower() for d in domains}
        self.append = append
        self.on_received = on_received
        self.in_flight = 0  # DATA transactions being journaled: shutdown waits for them

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        domain = normalize_address(address).rpartition("@")[2]
        if domain not in self.domains:
            return "550 5.1.1 Mailbox unavailable: we do not accept mail for this domain"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        meta = {
            "mail_from": envelope.mail_from or "",
            "rcpt_tos": list(envelope.rcpt_tos),
        }
        self.in_flight += 1
        try:
            journal_id = await self.append("email", bytes(raw), meta)
        except Exception as exc:
            log.error("could not journal an inbound message: %s", type(exc).__name__)
            return "451 4.3.0 Temporary failure, please retry later"
        finally:
            self.in_flight -= 1
        self.on_received()
        return f"250 2.0.0 Queued as J{journal_id}"


class SmtpListener:
    """The SMTP intake on its port; closing it lets the messages being received finish."""

    def __init__(self, server: asyncio.Server, handler: IntakeHandler) -> None:
        self.server = server
        self.handler = handler

    def close(self) -> None:
        self.server.close()

    async def drain(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.handler.in_flight and loop.time() < deadline:
            await asyncio.sleep(0.02)


async def listen(settings: Settings, host: str, ingest: Ingest) -> SmtpListener:
    """Listen on ``settings.smtp.port``; every message is journaled before its 250."""
    handler = IntakeHandler(
        settings.smtp.domains, ingest, lambda: metrics.MESSAGES_RECEIVED.labels("email").inc()
    )
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.smtp.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.smtp.from_address.rpartition("@")[2] or None,
            ident="Guichet ESMTP",
            auth_require_tls=True,  # we take no logins: never offer AUTH in clear text
        ),
        host=host,
        port=settings.smtp.port,
    )
    return SmtpListener(server, handler)
