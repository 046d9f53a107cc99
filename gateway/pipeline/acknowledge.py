"""Stage: acknowledge a new request on its channel, with its reference and answer delay.

Never to a robot (the loop guard), never to ourselves, never to an address that opted out, and
at most N per sender per hour: an autoresponder that slips through the checks still cannot
start a storm. SMS acknowledgements fit one GSM-7 segment; a public X mention gets only an
invitation to write privately (the X channel enforces it); a missed call is acknowledged by SMS
when the number is a mobile and SMS is set up.
"""

from __future__ import annotations

import unicodedata

import channels
from gateway.core import i18n
from gateway.core.settings import Settings
from gateway.pipeline.context import Context
from inbox.models import Ticket
from inbox.outbox import enqueue, enqueue_email, opted_out, sent_lately
from matching import is_mobile

SMS_SEGMENT = 160
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_SUBSTITUTES = {"ç": "c", "œ": "oe", "Œ": "OE", "’": "'", "«": '"', "»": '"', "–": "-"}


def to_gsm7(text: str) -> str:
    """Spell ``text`` with GSM-7 characters only (else the SMS switches to UCS-2: 70 per part)."""
    out = []
    for ch in text:
        if ch in GSM7:
            out.append(ch)
            continue
        ch = GSM7_SUBSTITUTES.get(ch, ch)
        bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if c in GSM7)
        out.append(bare or "?")
    return "".join(out)


def sms_text(key: str, settings: Settings, ticket: Ticket) -> str:
    """One SMS segment with the reference; the authority's name is shortened to make room."""
    authority = to_gsm7(settings.authority_name)
    values = {"reference": ticket.reference, "delay": str(settings.ack.answer_delay_days)}
    text = to_gsm7(i18n.text(key, settings.language, authority=authority, **values))
    if len(text) > SMS_SEGMENT:
        room = len(authority) - (len(text) - SMS_SEGMENT) - 1
        authority = authority[: max(room, 0)].rstrip() + "."
        text = to_gsm7(i18n.text(key, settings.language, authority=authority, **values))
    return text[:SMS_SEGMENT]


def is_own_address(settings: Settings, address: str) -> bool:
    domain = address.rpartition("@")[2]
    return address == settings.smtp.from_address.lower() or domain in settings.smtp.domains


def route(ctx: Context) -> str | None:
    """The channel the acknowledgement goes out on, or None if this one cannot carry it."""
    channel = "sms" if ctx.msg.channel == "phone" else ctx.msg.channel
    if channel == "sms" and ctx.msg.channel == "phone" and not is_mobile(ctx.msg.sender):
        return None  # a landline cannot read an SMS
    spec = channels.CHANNELS.get(channel)
    if spec is None or spec.send is None or not spec.enabled(ctx.settings):
        return None
    return channel


def refusal(ctx: Context) -> str | None:
    """Why no acknowledgement goes out for this message, or None if one should."""
    s = ctx.settings
    if not s.ack.enabled:
        return "disabled"
    if not ctx.ticket_created or ctx.ticket is None:
        return "not_new"
    if ctx.msg.automated:
        return ctx.msg.automated
    if ctx.msg.call is not None and str(ctx.msg.call.get("key", "")).startswith("asterisk:"):
        return "imported"  # a call from a CDR file may be days old: call back, don't text
    if ctx.msg.channel == "email" and is_own_address(s, ctx.msg.sender):
        return "own_address"
    channel = route(ctx)
    if channel is None:
        return "no_channel"
    if opted_out(ctx.session, channel, ctx.msg.sender):
        return "opted_out"
    recent = sent_lately(ctx.session, ctx.msg.sender, "ack")
    if recent >= s.ack.max_per_sender_per_hour:
        return "rate_capped"
    return None


def _email(ctx: Context, ticket: Ticket) -> None:
    s, lang = ctx.settings, ctx.settings.language
    subject = ctx.msg.subject.strip() or ticket.subject
    body = i18n.render(
        "ack",
        lang,
        subject=subject,
        reference=ticket.reference,
        delay=str(s.ack.answer_delay_days),
        authority=s.authority_name,
    )
    enqueue_email(
        ctx.session,
        s,
        ticket,
        kind="ack",
        to=ctx.msg.sender,
        subject=i18n.text("ack_subject", lang, reference=ticket.reference, subject=subject),
        body=body,
        in_reply_to=ctx.msg.message_id,
        references=ctx.msg.references,
    )


def run(ctx: Context) -> None:
    ticket = ctx.ticket
    if ticket is None or refusal(ctx) is not None:
        return
    channel = route(ctx)
    if channel == "email":
        _email(ctx, ticket)
        return
    s = ctx.settings
    if ctx.msg.public:
        body = i18n.text("ack_public", s.language)
    elif channel == "sms":
        body = sms_text("ack_call" if ctx.msg.channel == "phone" else "ack_sms", s, ticket)
    else:
        values = {"reference": ticket.reference, "delay": str(s.ack.answer_delay_days)}
        body = i18n.text("ack_chat", s.language, authority=s.authority_name, **values)
    content = {
        "body": body,
        "automatic": True,
        "in_reply_to": ctx.msg.message_id,
        "public": ctx.msg.public,
        "lang": s.language,
    }
    enqueue(
        ctx.session,
        s,
        ticket,
        channel=channel or "",
        kind="ack",
        to=ctx.msg.sender,
        content=content,
    )
