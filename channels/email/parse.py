"""E-mail channel: turn a raw message, as received over SMTP, into an InboundMessage.

Pure functions only: no network, no database. Mail written by citizens' clients is often
broken (missing or wrong charsets, raw 8-bit headers, unclosed multiparts, truncated
base64), so parsing is lenient on purpose: the stdlib ``compat32`` parser never raises, header
values are kept exactly as received, and all decoding is done here with explicit fallbacks.
Only a payload that is not an e-mail at all, or that has no sender, raises ParseError.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.utils
import mimetypes
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from itertools import accumulate

from channels.base import Attachment, InboundMessage, ParseError
from channels.email.html import html_to_text, sanitize_html


class _RawHeaders(Compat32):
    """compat32, except that header values are returned exactly as received.

    The stock policy wraps values holding raw 8-bit bytes in ``Header`` objects; we would
    rather get the (surrogate-escaped) text and guess its charset ourselves.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()
# The stdlib defaults only: the system's mime.types would make names machine dependent.
_MIME = mimetypes.MimeTypes()

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
_ROBOT = re.compile(
    r"(mailer-daemon|postmaster|no[-_.]?reply|ne[-_.]?pas[-_.]?r[eé]pondre|do[-_.]?not[-_.]?reply)"
    r"([-+._].*)?"
)


def normalize(
    raw: bytes,
    *,
    envelope_from: str | None = None,
    recipients: Sequence[str] = (),
    team: str = "",
) -> InboundMessage:
    """Parse ``raw`` (the message bytes as received) into an InboundMessage.

    Raises ParseError if ``raw`` is not an e-mail or no sender address can be found.
    """
    msg, parts = _parse(raw)
    sender, sender_name = _sender(msg, envelope_from)
    text = "\n".join(parts.text)
    if not parts.text and parts.html is not None:
        text = html_to_text(parts.html)
    references = _msg_ids(_raw(msg, "In-Reply-To")) + _msg_ids(_raw(msg, "References"))
    message_ids = _msg_ids(_raw(msg, "Message-ID"))
    html = remote = None
    if parts.html is not None:
        html, remote = sanitize_html(parts.html), sanitize_html(parts.html, remote_images=True)
    return InboundMessage(
        channel="email",
        sender=sender,
        sender_name=sender_name,
        recipients=_recipients(msg, recipients),
        subject=_decode_header(_raw(msg, "Subject")),
        text=text,
        html=html,
        html_remote=remote if remote != html else None,
        quote_start=split_quote(text),
        message_id=message_ids[0] if message_ids else None,
        references=tuple(dict.fromkeys(references)),
        automated=automation_reason(msg),
        attachments=tuple(parts.attachments),
        sent_at=_parse_date(_raw(msg, "Date")),
        team=team,
    )


def _parse(raw: bytes) -> tuple[Message, _Parts]:
    try:
        msg = BytesParser(policy=_POLICY).parsebytes(raw)
        parts = _Parts()
        parts.collect(msg)
    except RecursionError as exc:  # thousands of nested multiparts: a parser bomb
        raise ParseError("MIME structure nested too deeply") from exc
    # The parser accepts anything; without a single header line this was not an e-mail.
    if not msg.keys():
        raise ParseError("not an e-mail message: no header")
    return msg, parts


# --- headers and addresses -------------------------------------------------------------


def _raw(msg: Message, name: str) -> str:
    return _as_str(msg.get(name))


def _as_str(value: object) -> str:
    # Header objects only come from messages parsed elsewhere (callers of automation_reason).
    return value if isinstance(value, str) else "" if value is None else str(value)


def _unescape(raw: str) -> str:
    """Turn raw 8-bit bytes (surrogate-escaped by the parser) in a header into text."""
    if raw.isascii():
        return raw
    return _decode_bytes(raw.encode("utf-8", "surrogateescape"), None)


def _decode_header(raw: str) -> str:
    """Decode a header value: RFC 2047 encoded-words, stray 8-bit bytes, folding."""
    text = _unescape(raw)
    out: list[str] = []
    pending, charset = bytearray(), ""
    pos, after_word = 0, False
    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos : match.start()]
        # Whitespace between two encoded-words is not part of the text (RFC 2047, 6.2).
        if gap and not (after_word and gap.isspace()):
            out.append(_decode_bytes(bytes(pending), charset))
            out.append(gap)
            pending = bytearray()
        word_charset = match[1].split("*")[0].lower()  # drop an RFC 2231 language tag
        if pending and word_charset != charset:
            out.append(_decode_bytes(bytes(pending), charset))
            pending = bytearray()
        # Adjacent words are joined before decoding: clients split multibyte characters.
        pending += _decode_word(match[2], match[3])
        charset, pos, after_word = word_charset, match.end(), True
    out.append(_decode_bytes(bytes(pending), charset))
    out.append(text[pos:])
    return " ".join(_CONTROL.sub("", "".join(out)).split())


def _decode_word(encoding: str, payload: str) -> bytes:
    data = payload.encode("ascii", "ignore")
    if encoding in "Bb":
        return _b64decode(data)
    return binascii.a2b_qp(data, header=True)


def normalize_address(addr: str) -> str:
    """``addr`` lower-cased without angle brackets or blanks, or "" if it is not an address."""
    candidate = addr.strip()
    if "<" in candidate:
        bracketed = re.search(r"<([^<>]*)>", candidate)
        candidate = bracketed[1] if bracketed else ""
    candidate = candidate.strip(" \t'\"").lower().rstrip(".")
    return candidate if _ADDRESS.fullmatch(candidate) else ""


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    """(address, display name) pairs found in the given headers; invalid ones are dropped."""
    values = [_unescape(_as_str(value)) for name in names for value in msg.get_all(name, [])]
    pairs = []
    for display, addr in email.utils.getaddresses(values):
        if address := normalize_address(addr):
            pairs.append((address, _decode_header(display)))
    return pairs


def _sender(msg: Message, envelope_from: str | None) -> tuple[str, str]:
    for header in ("From", "Sender", "Reply-To"):
        if pairs := _addresses(msg, header):
            return pairs[0]
    if address := normalize_address(envelope_from or ""):
        return address, ""
    raise ParseError("no sender address")


def _recipients(msg: Message, envelope: Sequence[str]) -> tuple[str, ...]:
    found = [normalize_address(addr) for addr in envelope]
    if not any(found):
        found = [addr for addr, _ in _addresses(msg, "To", "Cc")]
    return tuple(dict.fromkeys(addr for addr in found if addr))


def _msg_ids(raw: str) -> list[str]:
    text = _unescape(raw)
    # Some clients drop the angle brackets; accept bare tokens that look like ids.
    return _MSG_ID.findall(text) or [t for t in text.split() if "@" in t and "<" not in t]


def _parse_date(raw: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(_unescape(raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" (or no zone at all) means the local time is unknown: read it as UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def automation_reason(msg: Message) -> str | None:
    """Why ``msg`` looks machine-sent, so that it must not get an automatic reply; else None."""
    auto_submitted = _raw(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto-submitted"
    if _raw(msg, "Precedence").strip().lower() in {"bulk", "list", "junk"}:
        return "precedence"
    if "X-Loop" in msg:
        return "x-loop"
    if "List-Id" in msg or "List-Unsubscribe" in msg:
        return "list"
    suppress = {word.strip().lower() for word in _raw(msg, "X-Auto-Response-Suppress").split(",")}
    if suppress & {"all", "autoreply", "oof"}:
        return "x-auto-response-suppress"
    senders = _addresses(msg, "From", "Sender")
    if any(_ROBOT.fullmatch(addr.partition("@")[0]) for addr, _ in senders):
        return "robot-sender"
    if msg.get_content_type() == "multipart/report":
        return "report"
    return None


# --- bodies and attachments ------------------------------------------------------------


def _decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode ``data`` with the declared charset if it fits, else utf-8, cp1252, latin-1."""
    for name in _charset_candidates(data, declared):
        try:
            return data.decode(name)
        except (LookupError, UnicodeError):  # not a text codec, or a wrong guess
            continue
    return data.decode("latin-1")  # maps every byte: never fails


def _charset_candidates(data: bytes, declared: str | None) -> list[str]:
    try:
        codec = codecs.lookup((declared or "").strip(" \"'")).name
    except (LookupError, ValueError):  # unknown name, or one with a NUL in it
        codec = ""
    guesses = []
    if codec in {"ascii", "iso8859-1", "iso8859-15", "cp1252"} and not data.isascii():
        # Webmails and forms often label UTF-8 as latin-1; valid non-ASCII UTF-8 is no accident.
        guesses.append("utf-8")
    if codec in {"ascii", "iso8859-1"} and _C1_BYTES.search(data):
        # 0x80-0x9F are control codes in latin-1 but € ’ œ in cp1252, which Windows really sent.
        guesses.append("cp1252")
    return [*guesses, *([codec] if codec else []), "utf-8", "cp1252"]


def _b64decode(data: bytes) -> bytes:
    try:
        return base64.b64decode(data)
    except binascii.Error:
        # Truncated or damaged: keep the alphabet, re-pad, drop a dangling character.
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        cleaned = cleaned[: len(cleaned) - 1] if len(cleaned) % 4 == 1 else cleaned
        return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))


def _raw_payload(part: Message) -> object:
    """A list of sub-parts, or the body text as received (8-bit bytes surrogate-escaped).

    get_payload() would re-decode 8-bit text with the declared charset (and can crash on a
    mangled one); only the private attribute holds the body as received.
    """
    return getattr(part, "_payload", None)


def _payload_bytes(part: Message) -> bytes:
    """The decoded content of a leaf part; broken encodings give what can be decoded."""
    payload = _raw_payload(part)
    if not isinstance(payload, str):
        return b""
    data = payload.encode("utf-8", "surrogateescape")
    encoding = _raw(part, "Content-Transfer-Encoding").strip(" \t\"'").lower()
    if encoding == "base64":
        return _b64decode(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if "uu" in encoding:
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else data
    return data


def _decode_text(part: Message) -> str:
    text = _decode_bytes(_payload_bytes(part), part.get_content_charset())
    # NUL is dropped because PostgreSQL text columns refuse it.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").removeprefix("\ufeff")


def _flatten(part: Message) -> bytes:
    """The bytes of the message(s) held by a message/* part, as an .eml file."""
    payload = _raw_payload(part)
    if not isinstance(payload, list):
        return _payload_bytes(part)
    text = "".join(_serialize(inner) for inner in payload if isinstance(inner, Message))
    return re.sub(r"\r\n|\r|\n", "\r\n", text).encode("utf-8", "surrogateescape")


def _serialize(msg: Message) -> str:
    """``msg`` as received, more or less: headers and bodies verbatim, never re-folded.

    The stdlib generator re-folds headers and raises on some broken input; this cannot.
    """
    head = "".join(f"{name}: {value}\r\n" for name, value in msg.raw_items())
    payload = _raw_payload(msg)
    if not isinstance(payload, list):
        return f"{head}\r\n{payload or ''}"
    inner = [_serialize(sub) for sub in payload if isinstance(sub, Message)]
    if msg.get_content_maintype() != "multipart":  # message/*: one message or header blocks
        return head + "\r\n" + "".join(inner)
    boundary = msg.get_boundary()
    parts = "".join(f"--{boundary}\r\n{sub}\r\n" for sub in inner)
    return f"{head}\r\n{msg.preamble or ''}{parts}--{boundary}--\r\n{msg.epilogue or ''}"


def _filename(part: Message) -> str:
    """The name the sender gave the part, RFC 2231 and RFC 2047 encodings decoded."""
    # Not get_filename(): it raises on a mangled RFC 2231 charset.
    value = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
        return _decode_bytes(value[2].encode("latin-1", "surrogateescape"), value[0])
    return _decode_header(value or "")


def _safe_filename(name: str, content_type: str, index: int) -> str:
    """A plain base name: no directories, no control or bidi characters, at most 200 chars."""
    base = re.split(r"[/\\]", name)[-1]
    base = "".join(c for c in base if unicodedata.category(c) not in {"Cc", "Cf", "Cs"})
    # NFC because macOS sends decomposed names; leading dots would make hidden files.
    base = unicodedata.normalize("NFC", base).strip().lstrip(".")
    if not base:
        return f"piece-jointe-{index}{_extension(content_type)}"
    if len(base) > 200:
        stem, dot, extension = base.rpartition(".")
        keep = f"{dot}{extension}" if dot and len(extension) <= 16 else ""
        base = (stem if keep else base)[: 200 - len(keep)] + keep
    return base


def _extension(content_type: str) -> str:
    if content_type == "message/rfc822":
        return ".eml"
    if content_type.startswith("message/") or content_type == "text/rfc822-headers":
        return ".txt"  # delivery reports and the like are readable text
    return _MIME.guess_extension(content_type) or ".bin"


@dataclass
class _Parts:
    """What a walk over the MIME tree found: body candidates and attachments."""

    text: list[str] = field(default_factory=list)
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)

    def collect(self, part: Message) -> None:
        content_type = part.get_content_type()
        payload = _raw_payload(part)
        if part.get_content_maintype() == "message":  # forwarded mail, bounce reports
            self._attach(part, _flatten(part))
        elif isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    self.collect(sub)
        elif not _is_body(part):
            self._attach(part, _payload_bytes(part))
        # A multipart whose boundary is missing is shown as text rather than lost.
        elif content_type == "text/plain" or content_type.startswith("multipart/"):
            self.text.append(_decode_text(part))
        elif content_type == "text/html" and self.html is None:
            self.html = _decode_text(part)
        else:
            self._attach(part, _payload_bytes(part))

    def _attach(self, part: Message, data: bytes) -> None:
        content_type = part.get_content_type()
        name = _safe_filename(_filename(part), content_type, len(self.attachments) + 1)
        self.attachments.append(Attachment(name, content_type, data))


def _is_body(part: Message) -> bool:
    return part.get_content_disposition() != "attachment" and not _filename(part)


# --- quotes ----------------------------------------------------------------------------

_ATTRIBUTION = re.compile(r"(?:Le|On)\s.+\s(?:a\s+écrit|wrote)\s*:", re.IGNORECASE)
_SEPARATOR = re.compile(r"-{3,}\s*(?:Message d['’]origine|Original Message)\s*-{3,}", re.I)
_HEADER_FROM = re.compile(r"\*?(?:De|From)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(r"\*?(?:Envoyé|Sent|Date)\s*:", re.IGNORECASE)
_UNDERSCORES = re.compile(r"_{10,}")


def split_quote(text: str) -> int | None:
    """Offset in ``text`` where the quoted previous message of a reply begins, or None."""
    lines = text.splitlines(keepends=True)
    offsets = list(accumulate((len(line) for line in lines), initial=0))
    stripped = [line.strip() for line in lines]
    for i in range(len(stripped)):
        if _starts_quote(stripped, i):
            # Outlook draws a line of underscores above its "De : / Envoyé :" block.
            above = i > 0 and _UNDERSCORES.fullmatch(stripped[i - 1])
            return offsets[i - 1] if above else offsets[i]
    return _trailing_quote(stripped, offsets)


def _starts_quote(lines: list[str], i: int) -> bool:
    line = lines[i]
    if len(line) > 300:  # attributions are short; also keeps the regexes cheap
        return False
    if line.startswith(("Le ", "On ", "Le\xa0")):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        # Gmail wraps long attributions; requiring a digit (date) avoids ordinary sentences.
        for candidate in (line, f"{line} {following}"):
            if _ATTRIBUTION.fullmatch(candidate) and any(c.isdigit() for c in candidate):
                return True
    if _SEPARATOR.fullmatch(line):
        return True
    return bool(_HEADER_FROM.match(line)) and any(
        _HEADER_SENT.match(n) for n in lines[i + 1 : i + 4]
    )


def _trailing_quote(lines: list[str], offsets: list[int]) -> int | None:
    """Start of the run of "> " lines that ends the text (blank lines allowed), if any."""
    start = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(">"):
            start = i
        elif lines[i]:
            break
    return None if start is None else offsets[start]


# --- HTML ------------------------------------------------------------------------------
