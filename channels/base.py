"""The shape every channel adapter normalizes its input to, and the error vocabulary of channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from gateway.core import i18n

if TYPE_CHECKING:
    from channels.webhooks import Webhooks
    from gateway.core.db import Database
    from gateway.core.settings import Settings


class ChannelError(Exception):
    """A problem with one inbound or outbound message.

    ``permanent`` says whether trying again can help: a malformed message is permanent
    (quarantine it), a relay that is down is not (retry later). ``opt_out`` says the provider
    knows the citizen asked not to be written to (Twilio's 21610): the outbox records it.
    """

    def __init__(self, message: str, *, permanent: bool = False, opt_out: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.opt_out = opt_out


class ParseError(ChannelError):
    """The raw payload cannot be turned into an InboundMessage; it goes to quarantine."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


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
    html_remote: str | None = None  # ``html`` with its remote images, if it has any
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


class Listener(Protocol):
    """A server a channel runs itself (the SMTP intake), started and drained by the process."""

    def close(self) -> None:
        """Stop accepting new connections."""

    async def drain(self, timeout: float) -> None:
        """Wait, at most ``timeout`` seconds, for what is being received to be journaled."""


# ingest(channel, raw, envelope): the journal id once the payload is committed.
Ingest = Callable[[str, bytes, dict[str, Any]], Awaitable[int]]
# listener(settings, host, ingest): start listening on the channel's own port.
Listen = Callable[["Settings", str, Ingest], Awaitable[Listener]]


@dataclass(frozen=True)
class Receipt:
    """What an acknowledgement tells the citizen about her request."""

    reference: str
    subject: str  # the ticket's subject: hers, or the start of her text


# (settings, her message, the receipt): the acknowledgement as outbox content (``body``, and
# whatever the answering channel's ``send`` reads); the pipeline adds ``automatic``.
Acknowledge = Callable[["Settings", InboundMessage, Receipt], dict[str, Any]]
ContactKind = Literal["email", "phone", "handle"]


@dataclass(frozen=True)
class Reply:
    """An agent's answer, for the channel to keep what it can carry."""

    body: str
    reference: str  # the ticket's
    subject: str  # of the message answered when on its thread, else the ticket's
    in_reply_to: str | None  # the provider's id of the message answered, on its thread
    references: tuple[str, ...] = ()  # this channel's earlier ids in the ticket, oldest first


def plain_reply(settings: Settings, reply: Reply) -> dict[str, Any]:
    """A reply as a short text, answering the message it replies to where the channel can."""
    return {"body": reply.body, "automatic": False, "in_reply_to": reply.in_reply_to}


def short_acknowledgement(settings: Settings, msg: InboundMessage, body: str) -> dict[str, Any]:
    """The outbox content of an acknowledgement that is a short text (SMS, chat apps)."""
    return {
        "body": body,
        "in_reply_to": msg.message_id,
        "public": msg.public,
        "lang": settings.language,
    }


def chat_acknowledgement(
    settings: Settings, msg: InboundMessage, receipt: Receipt
) -> dict[str, Any]:
    """A chat app's acknowledgement: the reference, the delay, and to quote it elsewhere."""
    body = i18n.text(
        "ack_chat",
        settings.language,
        authority=settings.authority_name,
        reference=receipt.reference,
        delay=str(settings.ack.answer_delay_days),
    )
    return short_acknowledgement(settings, msg, body)


@dataclass(frozen=True)
class Label:
    """A channel's name as agents read it, in each language of the pages."""

    fr: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


@dataclass(frozen=True)
class Channel:
    """One channel, declared once in ``channels.CHANNELS``: every fact the rest of the code
    needs about it, so that nothing outside ``channels/`` branches on a channel's name.

    Intake: ``normalize`` is pure (raw journaled payload → InboundMessage, ParseError if it
    cannot); ``webhooks`` holds its provider routes; ``pollers(runtime)`` returns blocking
    loops the server runs in threads until ``stop``; ``listener`` starts a server of its own
    (SMTP); ``fetch`` downloads a RemoteAttachment; ``states`` names what it reports its
    health under.

    Citizens: ``contact`` is what its sender address is on a citizen record;
    ``conversational`` says a message without a reference continues her open conversation
    (chat-like channels, which have no subject); ``reaches(address)`` whether a contact point
    of that kind can be written to here (a mobile, not a landline, for SMS); without it, a
    handle channel reaches its own ``name:`` handles and the others any address.

    Answers: ``acknowledgement`` words the acknowledgement of a request that came here, sent
    on ``answered_on`` (a missed call is acknowledged by SMS; empty: this channel); ``reply``
    turns an agent's answer into outbox content (e-mail: a threaded subject). ``send(settings,
    recipient, content)`` delivers one outbox row and raises ChannelError; ``prepare``
    completes a row's content when it is queued (e-mail: its own Message-ID). ``own_address``
    is who the citizen sees our messages from, and ``is_own(settings, sender)`` the loop
    guard: never acknowledge ourselves.
    """

    name: str
    normalize: Normalize
    label: Label
    icon: str
    enabled: Callable[[Settings], bool] = lambda settings: True
    contact: ContactKind = "handle"
    conversational: bool = False
    reaches: Callable[[str], bool] | None = None
    acknowledgement: Acknowledge | None = None
    answered_on: str = ""
    reply: Callable[[Settings, Reply], dict[str, Any]] = plain_reply
    send: Send | None = None
    prepare: Callable[[Settings, dict[str, Any]], dict[str, Any]] | None = None
    own_address: Callable[[Settings], str] | None = None
    is_own: Callable[[Settings, str], bool] | None = None
    fetch: Fetch | None = None
    webhooks: Webhooks | None = None
    pollers: Callable[[Runtime], list[Callable[[], None]]] | None = None
    listener: Listen | None = None
    states: Callable[[Settings], list[str]] | None = None  # names it reports state under

    def can_reach(self, address: str) -> bool:
        """Whether this channel can write to ``address``, a contact point of its kind."""
        if self.reaches is not None:
            return self.reaches(address)
        return self.contact != "handle" or address.startswith(f"{self.name}:")

    def our_address(self, settings: Settings) -> str:
        """Who the citizen sees a message on this channel from (recorded on the Message)."""
        return self.own_address(settings) if self.own_address else self.name

    def is_ours(self, settings: Settings, sender: str) -> bool:
        """Whether ``sender`` is ourselves on this channel (the loop guard)."""
        if self.is_own is not None:
            return self.is_own(settings, sender)
        return self.own_address is not None and sender == self.own_address(settings)
