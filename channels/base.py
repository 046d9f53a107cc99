"""The shape every channel adapter normalizes its input to, and the error vocabulary of channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channels.webhooks import Webhooks
    from gateway.core.db import Database
    from gateway.core.settings import Settings


class ChannelError(Exception):
    """A problem with one inbound or outbound message.

    ``permanent`` says whether trying again can help: a malformed message is permanent
    (quarantine it), a relay that is down is not (retry later).
    """

    permanent: bool = False


class ParseError(ChannelError):
    """The raw payload cannot be turned into an InboundMessage; it goes to quarantine."""

    permanent = True


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RemoteAttachment:
    """A file the provider holds (MMS media, a Telegram photo, a voicemail recording).

    ``normalize`` stays pure: it only names the file; the pipeline worker downloads it through
    the channel's ``fetch`` before the ticket is written, outside any database transaction.
    """

    url: str
    content_type: str = ""
    filename: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """One message from a citizen, independent of the channel it came through.

    ``sender`` is the channel's address for the citizen (an e-mail address, an E.164 number,
    ``telegram:123``), normalized by the channel. ``text`` holds the whole plain-text body,
    quoted reply included; ``quote_start`` is the offset where the quoted part begins, so the
    UI can fold it without anything being thrown away.
    """

    channel: str
    sender: str
    sender_name: str = ""
    recipients: tuple[str, ...] = ()
    subject: str = ""
    text: str = ""
    html: str | None = None
    quote_start: int | None = None
    message_id: str | None = None
    references: tuple[str, ...] = ()
    automated: str | None = None
    attachments: tuple[Attachment, ...] = field(default=())
    sent_at: datetime | None = None
    remote_attachments: tuple[RemoteAttachment, ...] = ()
    # Other identifiers she gave about herself, as "kind:value" ("phone:+33612345678" from a
    # contact shared on Telegram): they feed the matcher and join her record once linked.
    identifiers: tuple[str, ...] = ()
    team: str = ""  # route the ticket to this team (an IMAP mailbox's configuration)
    # A command rather than a request: "opt_out" / "opt_in" (SMS STOP / START), "start"
    # (Telegram /start). The pipeline handles it and opens no ticket.
    control: str | None = None
    # A telephony event (phone channel): what the ``calls`` stage records on the call log.
    call: dict[str, Any] | None = None
    # X: a public mention, whose acknowledgement must not carry anything personal.
    public: bool = False


@dataclass(frozen=True)
class Sent:
    """What a channel's ``send`` returns: the provider's id for the message and its status."""

    provider_id: str
    status: str = "sent"  # "queued" when the provider reports delivery later (SMS)


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    """A provider's JSON payload as a dict, or ParseError (malformed, too deep, not an object)."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ParseError(f"{what}: not JSON ({type(exc).__name__})") from exc
    if not isinstance(value, dict):
        raise ParseError(f"{what}: a JSON object is required")
    return value


Normalize = Callable[[bytes, dict[str, Any]], InboundMessage]
Send = Callable[["Settings", str, dict[str, Any]], Sent]
Fetch = Callable[["Settings", RemoteAttachment], Attachment]


@dataclass
class Runtime:
    """What a poller thread gets from the process that runs it.

    ``ingest`` blocks until the payload is committed to the journal (raise = not committed:
    do not advance the checkpoint). ``report(name, error)`` records the channel's state for
    ``/api/v1/channels``: ``error=None`` after a successful round, the error text otherwise
    (never personal data in it). ``stop`` is set when the process shuts down.
    """

    settings: Settings
    db: Database
    ingest: Callable[[str, bytes, dict[str, Any]], int]
    report: Callable[[str, str | None], None]
    stop: threading.Event


@dataclass(frozen=True)
class Channel:
    """One channel, declared once in ``channels.CHANNELS``.

    ``normalize`` is pure (raw journaled payload → InboundMessage, ParseError if it cannot).
    ``send(settings, recipient, content)`` delivers one outbox row (content: ``body``,
    ``in_reply_to``, ``automatic``, channel-specific keys) and raises ChannelError(permanent).
    ``fetch`` downloads a RemoteAttachment. ``webhooks`` holds its provider routes;
    ``pollers(runtime)`` returns blocking loops the server runs in threads until ``stop``.
    """

    name: str
    normalize: Normalize
    enabled: Callable[[Settings], bool] = lambda settings: True
    send: Send | None = None
    fetch: Fetch | None = None
    webhooks: Webhooks | None = None
    pollers: Callable[[Runtime], list[Callable[[], None]]] | None = None
    states: Callable[[Settings], list[str]] | None = None  # names it reports state under
