"""The X (Twitter) channel: mentions and direct messages polled through the API v2 (tweepy).

One poller reads the town hall's mentions (``since_id``) and its direct messages (no
``since_id`` there: it pages back to the newest event already seen) and journals each item on
its own, then advances the checkpoint ``x``. Replies go out as direct messages. A public
mention is answered in public only with a fixed invitation to write privately: whatever the
outbox asks, a public tweet never carries a name, a reference or anything from the ticket.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from channels.base import (
    Channel,
    ChannelError,
    InboundMessage,
    ParseError,
    Runtime,
    Sent,
    json_object,
)
from gateway.core import i18n, metrics
from gateway.core.channel_state import load_checkpoint, save_checkpoint
from gateway.core.settings import Settings, XSettings

log = logging.getLogger(__name__)

NAME = "x"
X_HOST = "https://api.twitter.com"
TIMEOUT_SECONDS = 30.0  # tweepy sets none: a silent connection would hang the poller forever
MAX_RATE_WAIT = 900.0  # X windows are 15 minutes; a later reset is a clock problem
MAX_BACKOFF = 60.0
# With no checkpoint yet (first start), older items predate Guichet: importing them would send
# acknowledgements to conversations long over.
FIRST_RUN_LOOKBACK = timedelta(days=7)
DM_MAX_CHARS = 10_000
NOT_JOURNALED = {"own_account", "retweet"}  # InboundMessage.automated values the poller drops
# author_id comes with its expansion too; asked for so that it never depends on that.
TWEET_FIELDS = "author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets"
DM_FIELDS = ["created_at", "sender_id", "dm_conversation_id", "attachments"]
USER_FIELDS = ["name", "username"]
# Characters that reorder or hide text (bidi overrides, NUL which PostgreSQL refuses).
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
ATTACHMENT_NOTE = "[Pièce jointe envoyée sur X, non importée : voir la conversation sur X]"


# -- the client ----------------------------------------------------------------------------------


class _Session(requests.Session):
    """tweepy's HTTP session, sent to ``base`` instead of api.twitter.com, with a timeout."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        target = url.decode() if isinstance(url, bytes) else url
        if self.base and target.startswith(X_HOST):
            target = self.base + target[len(X_HOST) :]
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        return super().request(method, target, *args, **kwargs)


def make_client(x: XSettings) -> Any:
    """The official v2 client; raw responses, so the rate-limit headers can be read."""
    client = tweepy.Client(
        bearer_token=x.bearer_token.get_secret_value() or None,
        consumer_key=x.consumer_key,
        consumer_secret=x.consumer_secret.get_secret_value(),
        access_token=x.access_token,
        access_token_secret=x.access_token_secret.get_secret_value(),
        return_type=requests.Response,
        wait_on_rate_limit=False,  # we wait ourselves, so that stop interrupts the wait
    )
    client.session = _Session(x.api_base)  # a documented attribute of tweepy.Client
    return client


# -- normalize (pure) ----------------------------------------------------------------------------


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


def _when(obj: dict[str, Any]) -> datetime | None:
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
        sent_at=_when(tweet),
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
        sent_at=_when(event),
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


# -- send ----------------------------------------------------------------------------------------


def public_text(lang: str | None) -> str:
    """The only thing we ever post in public: an invitation to continue by direct message."""
    return i18n.text("ack_public", "en" if lang == "en" else "fr")


def _error(message: str, permanent: bool) -> ChannelError:
    err = ChannelError(message)
    err.permanent = permanent
    return err


PERMANENT = {
    400: "request refused",
    403: "not allowed (direct messages closed, or tweet gone)",
    404: "user or tweet not found",
}


def _describe(exc: Exception) -> str:
    """An error as the channel's state shows it: HTTP status and type, never personal data."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"X {status}: {type(exc).__name__}" if status else f"X: {type(exc).__name__}"


def _translate(exc: Exception) -> ChannelError:
    """X's answer as a channel error that knows whether retrying can help (429, 5xx: yes)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in PERMANENT:
        return _error(f"X {status}: {PERMANENT[status]}", True)
    return _error(_describe(exc), False)


def _posted_id(response: Any, key: str) -> str:
    try:
        value = response.json()["data"][key]
    except (ValueError, KeyError, TypeError) as exc:
        raise _error("X accepted the message but returned no id", True) from exc
    return str(value)


def send(settings: Settings, recipient: str, content: dict[str, Any]) -> Sent:
    """A direct message to ``x:<user_id>``, or the fixed public invitation (``public``)."""
    user_id = recipient.removeprefix("x:")
    if not recipient.startswith("x:") or not user_id.isdigit():
        raise _error("X: recipient is not x:<user id>", True)
    client = make_client(settings.x)
    try:
        if content.get("public"):
            answered = str(content.get("in_reply_to") or "")
            tweet_id = answered.removeprefix("x-tweet:")
            if not answered.startswith("x-tweet:") or not tweet_id.isdigit():
                raise _error("X: a public answer needs the tweet it answers", True)
            # Never content["body"]: a public tweet must hold nothing from the ticket.
            text = public_text(content.get("lang"))
            response = client.create_tweet(in_reply_to_tweet_id=tweet_id, text=text)
            return Sent(provider_id=f"x-tweet:{_posted_id(response, 'id')}")
        body = str(content.get("body") or "")
        if not body.strip():
            raise _error("X: empty message", True)
        if len(body) > DM_MAX_CHARS:
            raise _error(f"X: longer than {DM_MAX_CHARS} characters, the DM limit", True)
        response = client.create_direct_message(participant_id=user_id, text=body)
        return Sent(provider_id=f"x-dm:{_posted_id(response, 'dm_event_id')}")
    except ChannelError:
        raise
    except (tweepy.TweepyException, requests.RequestException) as exc:
        raise _translate(exc) from exc


# -- the poller ----------------------------------------------------------------------------------


class _RateLimited(Exception):
    def __init__(self, until: float) -> None:
        super().__init__(f"rate limited until {until}")
        self.until = until


class _Stopped(Exception): ...


def _snowflake(obj: dict[str, Any]) -> int:
    """The item's id as a number (ids grow with time), -1 when it has none we can read."""
    value = obj.get("id")
    return int(value) if isinstance(value, str) and value.isdigit() else -1


def _reset_at(headers: Any) -> float:
    """When the rate-limit window ends (epoch seconds), capped at MAX_RATE_WAIT from now."""
    now = time.time()
    try:
        reset = float(headers.get("x-rate-limit-reset"))
    except (TypeError, ValueError):
        reset = now + MAX_BACKOFF
    # One second of margin, as tweepy does: the reset second itself may still be refused.
    return min(max(reset + 1, now), now + MAX_RATE_WAIT)


def _page(response: Any) -> tuple[list[dict[str, Any]], dict[str, Any], str | None]:
    """Items, users by id and next_token of one v2 answer."""
    body = response.json()
    body = body if isinstance(body, dict) else {}
    data = body.get("data") or []
    users = (body.get("includes") or {}).get("users") or []
    by_id = {str(u.get("id")): u for u in users if isinstance(u, dict)}
    token = (body.get("meta") or {}).get("next_token")
    items = [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
    return items, by_id, token if isinstance(token, str) and token else None


class Poller:
    """Mentions then DMs, every ``poll_seconds``, until ``runtime.stop``."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.x = runtime.settings.x
        self.client = make_client(self.x)
        self.not_before = 0.0  # no request before this epoch (rate limit)

    def run(self) -> None:
        if not self.x.user_id.isdigit():  # without it, our own tweets would come back as mentions
            log.error("X: x.user_id is not set; the X poller does not run")
            self.rt.report(NAME, "X: x.user_id (the town hall's account id) is not set")
            return
        failures = 0
        stop = self.rt.stop
        while not stop.is_set():
            try:
                self.round()
            except _Stopped:
                return
            except _RateLimited as limited:
                until = datetime.fromtimestamp(limited.until, UTC).strftime("%H:%M:%S UTC")
                log.warning("X: rate limited for %.0f s", limited.until - time.time())
                self.rt.report(NAME, f"rate limited until {until}")
                continue  # the next request waits for the reset
            except Exception as exc:
                failures += 1
                log.warning("X poll failed: %s", type(exc).__name__)
                self.rt.report(NAME, _describe(exc))
                stop.wait(min(2.0 ** (failures - 1), MAX_BACKOFF))
                continue
            failures = 0
            self.rt.report(NAME, None)
            stop.wait(self.x.poll_seconds)

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        wait = self.not_before - time.time()
        if wait > 0 and self.rt.stop.wait(wait):
            raise _Stopped()
        if self.rt.stop.is_set():
            raise _Stopped()
        try:
            response = fn(**kwargs)
        except tweepy.TooManyRequests as exc:
            self.not_before = _reset_at(exc.response.headers)
            raise _RateLimited(self.not_before) from exc
        if response.headers.get("x-rate-limit-remaining") == "0":
            self.not_before = _reset_at(response.headers)  # pause rather than earn a 429
        return response

    def round(self) -> None:
        checkpoint = load_checkpoint(self.rt.db, NAME) or {}
        checkpoint = self._mentions(checkpoint)
        self._dms(checkpoint)

    def _fetch(
        self, fn: Callable[..., Any], stop_at: Callable[[dict[str, Any]], bool], **params: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Every page of a listing (newest first) down to the first item ``stop_at`` accepts."""
        items: list[dict[str, Any]] = []
        users: dict[str, Any] = {}
        token: str | None = None
        while True:
            page, page_users, token = _page(self._call(fn, pagination_token=token, **params))
            users.update(page_users)
            for item in page:
                if _snowflake(item) < 0:
                    continue  # no id to order it by or to checkpoint on
                if stop_at(item):
                    return items, users
                items.append(item)
            if token is None:
                return items, users

    def _mentions(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        since = checkpoint.get("mentions_since_id")
        first_run = {"start_time": datetime.now(UTC) - FIRST_RUN_LOOKBACK}
        tweets, users = self._fetch(
            self.client.get_users_mentions,
            lambda tweet: False,  # since_id already leaves out what we have
            id=self.x.user_id,
            user_auth=not self.x.bearer_token.get_secret_value(),  # app-only reads suffice
            expansions=["author_id"],
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
            max_results=100,
            **({"since_id": since} if since else first_run),
        )
        for tweet in sorted(tweets, key=_snowflake):  # oldest first: the checkpoint only grows
            author = users.get(str(tweet.get("author_id")))
            item = {"kind": "mention", "tweet": tweet, "author": author}
            checkpoint = self._take(item, checkpoint, {"mentions_since_id": tweet["id"]})
        return checkpoint

    def _dms(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        newest = str(checkpoint.get("dm_newest_id") or "")
        floor = datetime.now(UTC) - FIRST_RUN_LOOKBACK

        def seen(event: dict[str, Any]) -> bool:
            if newest.isdigit():
                return _snowflake(event) <= int(newest)
            try:
                when = _when(event)
            except ParseError:
                return False
            return when is not None and when < floor

        events, users = self._fetch(
            self.client.get_direct_message_events,
            seen,  # DM events have no since_id: page back to the newest one already taken
            event_types="MessageCreate",
            dm_event_fields=DM_FIELDS,
            expansions=["sender_id"],
            user_fields=USER_FIELDS,
            max_results=100,
        )
        for event in sorted(events, key=_snowflake):
            sender = users.get(str(event.get("sender_id")))
            item = {"kind": "dm", "event": event, "sender": sender}
            position = {"dm_newest_id": event["id"], "dm_newest_at": event.get("created_at")}
            checkpoint = self._take(item, checkpoint, position)
        return checkpoint

    def _take(
        self, item: dict[str, Any], checkpoint: dict[str, Any], position: dict[str, Any]
    ) -> dict[str, Any]:
        """Journal one item (not our own, not a retweet), then move the checkpoint past it."""
        raw = json.dumps(item, ensure_ascii=False).encode()
        envelope = {"user_id": self.x.user_id}
        try:
            wanted = normalize(raw, envelope).automated not in NOT_JOURNALED
        except ParseError:
            wanted = True  # the pipeline quarantines it, for a supervisor to see
        if wanted:
            self.rt.ingest(NAME, raw, envelope)
            metrics.MESSAGES_RECEIVED.labels(NAME).inc()
        checkpoint = {**checkpoint, **position}
        save_checkpoint(self.rt.db, NAME, checkpoint)
        return checkpoint


def pollers(runtime: Runtime) -> list[Callable[[], None]]:
    return [Poller(runtime).run]


CHANNEL = Channel(
    name=NAME,
    normalize=normalize,
    enabled=lambda s: s.x.enabled,
    send=send,
    pollers=pollers,
    states=lambda s: [NAME],
)
