"""The shape every channel adapter normalizes its input to, and the error vocabulary of channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
