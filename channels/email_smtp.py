"""E-mail over SMTP: the inbound aiosmtpd handler and outbound composition and relay sending.

The handler only verifies and journals (house style 1): RCPT is refused with 550 for a domain
we do not serve, DATA larger than the limit gets 552, and 250 is given only once the raw bytes
are committed to the journal; if that commit fails the client gets 451 and its MTA retries.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Awaitable, Callable, Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, localtime
from typing import Any

from channels.base import ChannelError, Sent
from channels.email import normalize_address
from gateway.core.settings import RelaySettings, Settings

log = logging.getLogger(__name__)

Append = Callable[[str, bytes, dict[str, Any]], Awaitable[int]]


class IntakeHandler:
    """aiosmtpd handler: RCPT policy, then journal-before-250."""

    def __init__(
        self, domains: Sequence[str], append: Append, on_received: Callable[[], None]
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


def new_message_id(domain: str) -> str:
    return f"{uuid.uuid4().hex}@{domain}"


def compose(
    *,
    message_id: str,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    body: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    automatic: bool = False,
) -> bytes:
    """Build a threaded UTF-8 message, ready for the relay."""
    msg = EmailMessage()
    local, _, domain = from_address.partition("@")
    msg["From"] = Address(display_name=from_name, username=local, domain=domain)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(localtime())
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    refs = [r for r in dict.fromkeys([*references, *([in_reply_to] if in_reply_to else [])]) if r]
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if automatic:
        # RFC 3834: tell other robots not to answer us, and mark the loop with our address.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Loop"] = from_address
    # Quoted-printable and CRLF: safe through any relay, 8BITMIME or not.
    msg.set_content(body, cte="quoted-printable")
    return msg.as_bytes(policy=policy.SMTP)


def send(relay: RelaySettings, sender: str, recipient: str, raw: bytes) -> None:
    """Hand one message to the relay. Raises ChannelError, permanent for 5xx refusals."""
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=30) as smtp:
            if relay.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if relay.username:
                smtp.login(relay.username, relay.password.get_secret_value())
            smtp.sendmail(sender, [recipient], raw)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise _error(
            f"recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raw_detail = exc.smtp_error
        detail = (
            raw_detail.decode("utf-8", "replace") if isinstance(raw_detail, bytes) else raw_detail
        )[:200]
        raise _error(
            f"relay answered {exc.smtp_code} {detail}", permanent=exc.smtp_code >= 500
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise _error(f"relay unreachable: {type(exc).__name__}", permanent=False) from exc


def render(settings: Settings, recipient: str, content: dict[str, Any]) -> bytes:
    """The message an outbox row stands for, as the relay will get it."""
    return compose(
        message_id=content["message_id"],
        from_address=settings.smtp.from_address,
        from_name=settings.authority_name,
        to=recipient,
        subject=content["subject"],
        body=content["body"],
        in_reply_to=content.get("in_reply_to"),
        references=content.get("references", ()),
        automatic=bool(content.get("automatic")),
    )


def send_content(settings: Settings, recipient: str, content: dict[str, Any]) -> Sent:
    """The e-mail channel's outbox sender: compose from the stored content, relay, done."""
    raw = render(settings, recipient, content)
    send(settings.relay, settings.smtp.from_address, recipient, raw)
    return Sent(provider_id=content["message_id"])


def _error(message: str, *, permanent: bool) -> ChannelError:
    err = ChannelError(message)
    err.permanent = permanent
    return err
