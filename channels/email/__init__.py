"""E-mail: a citizen's mail reaches us over SMTP (our listener) or in the town hall's existing
mailboxes (IMAP pollers); answers go out through the relay.

``parse`` reads MIME as French mail really comes (pure), ``smtp`` is the intake listener,
``imap`` the mailbox pollers, ``send`` composes and relays.
"""

from __future__ import annotations

from typing import Any

from channels.base import Channel, InboundMessage, Label, Receipt, Reply
from channels.email import imap, parse, send, smtp
from gateway.core import i18n
from gateway.core.settings import Settings


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    return parse.normalize(
        raw,
        envelope_from=envelope.get("mail_from"),
        recipients=envelope.get("rcpt_tos", ()),
        team=envelope.get("team", ""),
    )


def acknowledgement(settings: Settings, msg: InboundMessage, receipt: Receipt) -> dict[str, Any]:
    """The acknowledgement template (``config/templates/ack.*.txt``), threaded under her mail."""
    lang = settings.language
    subject = msg.subject.strip() or receipt.subject
    body = i18n.render(
        "ack",
        lang,
        subject=subject,
        reference=receipt.reference,
        delay=str(settings.ack.answer_delay_days),
        authority=settings.authority_name,
    )
    return {
        "subject": i18n.text("ack_subject", lang, reference=receipt.reference, subject=subject),
        "body": body,
        "in_reply_to": msg.message_id,
        "references": list(msg.references),
    }


def reply(settings: Settings, answer: Reply) -> dict[str, Any]:
    """``Re: [Réf. K7M4-9XQ2] …``, threaded under the mail answered and the ticket's others."""
    subject = answer.subject
    if answer.reference not in subject:
        subject = i18n.text(
            "reply_subject", settings.language, reference=answer.reference, subject=subject
        )
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return {
        "subject": subject,
        "body": answer.body,
        "in_reply_to": answer.in_reply_to,
        "references": list(answer.references[-20:]),
        "automatic": False,
    }


def from_address(settings: Settings) -> str:
    return settings.smtp.from_address


def is_own(settings: Settings, address: str) -> bool:
    """Our own address or any address of the domains we serve: never acknowledge ourselves."""
    domain = address.rpartition("@")[2]
    return address == settings.smtp.from_address.lower() or domain in settings.smtp.domains


CHANNEL = Channel(
    name="email",
    normalize=normalize,
    label=Label(fr="Courriel", en="E-mail"),
    icon="✉",
    contact="email",
    acknowledgement=acknowledgement,
    reply=reply,
    send=send.send_content,
    prepare=send.prepare,
    own_address=from_address,
    is_own=is_own,
    pollers=imap.pollers,
    states=imap.state_names,
    listener=smtp.listen,
)
