"""E-mail out: threaded messages composed from an outbox row and handed to the relay."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, localtime
from typing import Any

from channels.base import ChannelError, Sent
from gateway.core.settings import RelaySettings, Settings


def new_message_id(domain: str) -> str:
    return f"{uuid.uuid4().hex}@{domain}"


def prepare(settings: Settings, content: dict[str, Any]) -> dict[str, Any]:
    """A queued e-mail gets its own Message-ID, so the citizen's reply threads back to us."""
    domain = settings.smtp.from_address.rpartition("@")[2] or "guichet.invalid"
    return {"message_id": new_message_id(domain), **content}


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
        raise ChannelError(
            f"recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raw_detail = exc.smtp_error
        detail = (
            raw_detail.decode("utf-8", "replace") if isinstance(raw_detail, bytes) else raw_detail
        )[:200]
        raise ChannelError(
            f"relay answered {exc.smtp_code} {detail}", permanent=exc.smtp_code >= 500
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"relay unreachable: {type(exc).__name__}", permanent=False) from exc


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
