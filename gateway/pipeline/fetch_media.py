"""Stage: the files a provider holds (MMS media, Telegram photos, voicemail recordings).

The worker downloads them before the transaction opens (``prefetch``), so a slow provider does
not hold the database's write lock; this stage takes what was prefetched and fetches the rest.
A file we refuse or that is gone for good leaves a note in the message instead; a transient
failure raises, and the whole item is retried with backoff.
"""

from __future__ import annotations

import logging

import channels
from channels.base import Attachment, ChannelError, InboundMessage
from gateway.core import i18n
from gateway.core.settings import Settings
from gateway.pipeline.context import Context

log = logging.getLogger(__name__)


def prefetch(settings: Settings, msg: InboundMessage, into: dict[str, Attachment]) -> None:
    """Download what ``msg`` names into ``into`` (url → file); errors are left to the stage."""
    fetch = channels.CHANNELS[msg.channel].fetch
    for ref in msg.remote_attachments:
        if fetch is None or ref.url in into:
            continue
        try:
            into[ref.url] = fetch(settings, ref)
        except ChannelError:
            return  # the stage will try again, inside the item's retry policy


def run(ctx: Context) -> None:
    ctx.attachments = list(ctx.msg.attachments)
    fetch = channels.CHANNELS[ctx.msg.channel].fetch
    for ref in ctx.msg.remote_attachments:
        got = ctx.prefetched.pop(ref.url, None)
        if got is None and fetch is not None:
            try:
                got = fetch(ctx.settings, ref)
            except ChannelError as exc:
                if not exc.permanent:
                    raise
                log.info("attachment of journal item %s refused: %s", ctx.item.id, exc)
                name = ref.filename or ref.content_type or "?"
                note = i18n.text("attachment_missing", ctx.settings.language, name=name)
                ctx.media_notes.append(f"{note} ({exc})")
                continue
        if got is not None:
            ctx.attachments.append(got)
