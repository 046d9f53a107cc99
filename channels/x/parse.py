"""Reading journaled X items (pure: no network, no database).

The poller journals each mention as ``{"kind": "mention", "tweet", "author"}`` and each direct
message as ``{"kind": "dm", "event", "sender"}``, with the town hall's account id in the
envelope (``user_id``) so that our own tweets and messages are recognised.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from channels.base import InboundMessage, ParseError, json_object

NAME = "x"
# Characters that reorder or hide text (bidi overrides, NUL which PostgreSQL refuses).
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
ATTACHMENT_NOTE = "[Pièce jointe envoyée sur X, non importée : voir la conversation sur X]"


def _id(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.isdigit() or len(value) > 30:
        raise ParseError(f"X: {key} missing or not an id")
    return value


def _obj(obj: dict[str, Any], key: str, required: bool = True) -> dict[str, Any]:
    value = obj.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ParseError(f"X: {key} missing or not an object")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError(f"X: {key} is not a string")
    return unicodedata.normalize("NFC", _HIDDEN.sub("", value))


def created_at(obj: dict[str, Any]) -> datetime | None:
    """A tweet's or DM event's ``created_at`` (UTC), None if absent, ParseError if unreadable."""
    value = _str(obj, "created_at")
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise ParseError("X: created_at is not a date") from exc


def _display(user: dict[str, Any], user_id: str) -> str:
    """ "Name (@username)", from the user object the item came with (if it is the right one)."""
    if not user or str(user.get("id", user_id)) != user_id:
        return ""
    name, username = _str(user, "name").strip()[:100], _str(user, "username").strip()[:50]
    if name and username:
        return f"{name} (@{username})"
    return f"@{username}" if username else name


def _refs(tweet: dict[str, Any]) -> list[tuple[str, str]]:
    refs = tweet.get("referenced_tweets") or []
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise ParseError("X: referenced_tweets is not a list of objects")
    return [(_str(r, "type"), _id(r, "id")) for r in refs]


def _mention(item: dict[str, Any], our_id: str) -> InboundMessage:
    tweet = _obj(item, "tweet")
    tweet_id, author_id = _id(tweet, "id"), _id(tweet, "author_id")
    refs = _refs(tweet)
    to_us = bool(our_id) and str(tweet.get("in_reply_to_user_id") or "") == our_id
    automated = None
    if author_id == our_id:
        automated = "own_account"  # never acknowledge ourselves
    elif any(kind == "retweeted" for kind, _ in refs):
        automated = "retweet"
    return InboundMessage(
        channel=NAME,
        sender=f"x:{author_id}",
        sender_name=_display(_obj(item, "author", required=False), author_id),
        text=html.unescape(_str(tweet, "text")),  # X escapes &, < and > in tweets
        message_id=f"x-tweet:{tweet_id}",
        # Answering one of our public replies: thread to it (the outbox stored its id).
        references=tuple(f"x-tweet:{i}" for kind, i in refs if kind == "replied_to" and to_us),
        automated=automated,
        sent_at=created_at(tweet),
        public=True,
    )


def _dm(item: dict[str, Any], our_id: str) -> InboundMessage:
    event = _obj(item, "event")
    event_id, sender_id = _id(event, "id"), _id(event, "sender_id")
    if _str(event, "event_type") not in ("", "MessageCreate"):
        raise ParseError("X: DM event is not a message")
    text = _str(event, "text")
    attachments = _obj(event, "attachments", required=False)
    if attachments.get("media_keys"):
        text = f"{text}\n{ATTACHMENT_NOTE}".strip()
    return InboundMessage(
        channel=NAME,
        sender=f"x:{sender_id}",
        sender_name=_display(_obj(item, "sender", required=False), sender_id),
        text=text,
        message_id=f"x-dm:{event_id}",
        automated="own_account" if sender_id == our_id else None,
        sent_at=created_at(event),
    )


def normalize(raw: bytes, envelope: dict[str, Any]) -> InboundMessage:
    """A journaled item ({"kind": "mention"|"dm", …}) → InboundMessage; ParseError otherwise."""
    item = json_object(raw, "X item")
    our_id = str(envelope.get("user_id") or "")
    if item.get("kind") == "mention":
        return _mention(item, our_id)
    if item.get("kind") == "dm":
        return _dm(item, our_id)
    raise ParseError("X: unknown item kind")
