"""Words for codes the pages show: channels, audit actions and delivery states, in the agent's
language."""

from __future__ import annotations

from channels import CHANNELS
from inbox.web.catalog import gettext

# Internal notes are in the thread but on no channel.
CHANNEL_ICONS = {name: spec.icon for name, spec in CHANNELS.items()} | {"internal": "✎"}


def channel_names(lang: str) -> dict[str, str]:
    names = {name: spec.label(lang) for name, spec in CHANNELS.items()}
    return names | {"internal": gettext(lang, "Internal")}


def action(lang: str, code: str) -> str:
    """An audit event's action as a person reads it; unknown codes are shown as they are."""
    words = {
        "ticket.created": gettext(lang, "request received"),
        "ticket.message_added": gettext(lang, "new message from the citizen"),
        "ticket.routed": gettext(lang, "filed by the routing rules"),
        "ticket.claimed": gettext(lang, "taken"),
        "ticket.assigned": gettext(lang, "reassigned"),
        "ticket.reply": gettext(lang, "reply sent"),
        "ticket.note": gettext(lang, "internal note"),
        "ticket.status": gettext(lang, "status changed"),
        "ticket.citizen_confirmed": gettext(lang, "citizen confirmed"),
        "call.ticket": gettext(lang, "call turned into a request"),
    }
    return words.get(code, code)


def delivery(lang: str, state: str) -> str:
    words = {
        "pending": gettext(lang, "to be sent"),
        "queued": gettext(lang, "queued at the provider"),
        "sending": gettext(lang, "sending"),
        "sent": gettext(lang, "sent"),
        "delivered": gettext(lang, "delivered"),
        "failed": gettext(lang, "failed"),
        "undelivered": gettext(lang, "not delivered"),
        "opted_out": gettext(lang, "refused by the citizen (STOP)"),
    }
    return words.get(state, state)
