"""What the phone channel's sources share: reading numbers, the call event, ticket texts.

A call event is the dict ``InboundMessage.call``: ``key`` (provider-qualified call id),
``event`` (newCall, answer, hangup, voicemail, transcription), ``direction`` (in/out),
``caller``/``callee`` (E.164 when readable), ``number`` (the citizen's E.164, "" if withheld),
``user`` (the PBX user), ``cause``, ``at`` (ISO time), ``lang``, and what a source knows more
(``duration``, ``recording_url``, ``outcome``, ``started_at``…, ``log_only``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from fastapi import HTTPException, Request

from channels.base import InboundMessage, ParseError
from channels.web import ingest
from matching import normalize_phone

log = logging.getLogger(__name__)
NAME = "phone"
ANONYMOUS_SENDER = "phone:anonymous"
# Withheld caller ids as PBXs and Twilio spell them (Twilio's are "ANONYMOUS", "RESTRICTED",
# "BLOCKED", "UNAVAILABLE" and "UNKNOWN" typed on a keypad).
WITHHELD = {"", "anonymous", "anonyme", "unknown", "restricted", "private", "unavailable",
            "blocked", "withheld", "masqué", "masque", "+266696687", "+7378742833", "+2562533",
            "+86282452253", "+8656696"}  # fmt: skip
PARIS = ZoneInfo("Europe/Paris")
TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "subject_missed": "Appel manqué — à rappeler",
        "subject_voicemail": "Message vocal — à rappeler",
        "missed": "Appel manqué le {day} à {time} depuis {number}",
        "busy": "Appel manqué (ligne occupée) le {day} à {time} depuis {number}",
        "voicemail": "Message vocal laissé le {day} à {time} depuis {number}",
        "ring": " (durée de sonnerie : {seconds} s)",
        "length": " (durée : {seconds} s)",
        "recorded": "\nL'enregistrement est joint.",
        "transcript": "\nTranscription :\n\n{text}",
        "withheld": "un numéro masqué",
        "greeting": "Bonjour, vous êtes en relation avec {authority}. Nous ne pouvons pas répondre "
        "pour le moment. Laissez-nous un message après le bip, avec votre nom et votre numéro "
        ": nous vous rappellerons.",
        "goodbye": "Merci, votre message est enregistré. Au revoir.",
        "voice": "fr-FR",
    },
    "en": {
        "subject_missed": "Missed call — call back",
        "subject_voicemail": "Voicemail — call back",
        "missed": "Missed call on {day} at {time} from {number}",
        "busy": "Missed call (line busy) on {day} at {time} from {number}",
        "voicemail": "Voicemail left on {day} at {time} from {number}",
        "ring": " (rang for {seconds} s)",
        "length": " (length: {seconds} s)",
        "recorded": "\nThe recording is attached.",
        "transcript": "\nTranscription:\n\n{text}",
        "withheld": "a withheld number",
        "greeting": "Hello, you have reached {authority}. We cannot answer right now. Please "
        "leave a message after the tone, with your name and number: we will call you back.",
        "goodbye": "Thank you, your message is recorded. Goodbye.",
        "voice": "en-GB",
    },
}


def texts(lang: str) -> dict[str, str]:
    """The wording in ``lang``, French when there is none."""
    return TEXTS.get(lang, TEXTS["fr"])


def citizen_number(raw: str) -> str | None:
    """The caller's E.164 number, or None when withheld or not a number (an extension)."""
    value = raw.strip()[:64]
    if value.lower() in WITHHELD:
        return None
    if value.isdigit() and len(value) > 10 and value[0] != "0":
        value = "+" + value  # "493055571600": international without the "+", as PBXs send it
    return normalize_phone(value, "FR")


def display(number: str | None, lang: str) -> str:
    """``+33612345678`` → ``+33 6 12 34 56 78``, as an agent reads it out."""
    if not number:
        return texts(lang)["withheld"]
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def describe(
    kind: str,
    at: datetime,
    number: str | None,
    seconds: int | None,
    lang: str = "fr",
    transcript: str = "",
    recorded: bool = False,
) -> tuple[str, str]:
    """Subject and text of a call-back ticket: ``kind`` missed, busy or voicemail."""
    t = texts(lang)
    subject = t["subject_voicemail" if kind == "voicemail" else "subject_missed"]
    local = at.astimezone(PARIS)
    day, hour = f"{local:%d/%m/%Y}", f"{local:%H:%M}"
    text = t[kind].format(day=day, time=hour, number=display(number, lang))
    if seconds is not None:
        text += t["length" if kind == "voicemail" else "ring"].format(seconds=seconds)
    text += "."
    if recorded:
        text += t["recorded"]
    if transcript:
        text += t["transcript"].format(text=transcript)
    return subject, text


def at_of(envelope: dict[str, Any], key: str = "received_at") -> datetime:
    """A time the route or the import wrote in the envelope (normalize has no clock)."""
    try:
        at = datetime.fromisoformat(str(envelope[key]))
    except (KeyError, ValueError) as exc:
        raise ParseError(f"envelope without a valid {key}") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def message(
    event: dict[str, Any], at: datetime, wording: tuple[str, str] = ("", ""), **extra: Any
) -> InboundMessage:
    """The event as the message the pipeline handles: its id is the call key and the event."""
    subject, text = wording
    event["at"] = at.isoformat()
    return InboundMessage(
        channel=NAME,
        sender=event["number"] or ANONYMOUS_SENDER,
        message_id=f"{event['key']}:{event['event']}",
        subject=subject,
        text=text,
        sent_at=at,
        call=event,
        **extra,
    )


def number_of(event: dict[str, Any]) -> str | None:
    number: str = event.get("number") or ""
    return number or None


def new_event(
    key: str, name: str, direction: str, caller: str, callee: str, lang: str
) -> dict[str, Any]:
    """A call event; the citizen's number is the caller's on the way in, the callee's out."""
    number = citizen_number(caller if direction == "in" else callee)
    return {
        "key": key,
        "event": name,
        "direction": direction,
        "caller": citizen_number(caller) or caller.strip()[:64],
        "callee": citizen_number(callee) or callee.strip()[:64],
        "number": number or "",
        "user": "",
        "cause": "",
        "lang": lang if lang in TEXTS else "fr",
    }


def now() -> str:
    return datetime.now(UTC).isoformat()


async def journal(request: Request, raw: bytes, envelope: dict[str, Any]) -> None:
    """Commit the event to the journal, or answer 503 so that the provider retries."""
    try:
        await ingest(request, NAME, raw, envelope)
    except Exception as exc:
        log.error("phone event not journaled: %s", type(exc).__name__)
        raise HTTPException(503, "try again later") from exc
