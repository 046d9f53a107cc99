"""Polling X: the town hall's mentions and direct messages, until the process stops.

One poller reads the mentions (``since_id``) and the direct messages (no ``since_id`` there: it
pages back to the newest event already seen) and journals each item on its own, then advances
the checkpoint ``x``. It waits out rate limits itself, so that stopping interrupts the wait.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import tweepy

from channels.base import ParseError, Runtime
from channels.x.parse import NAME, created_at, normalize
from channels.x.send import describe, make_client
from gateway.core import metrics
from gateway.core.channel_state import load_checkpoint, save_checkpoint

log = logging.getLogger(__name__)

MAX_RATE_WAIT = 900.0  # X windows are 15 minutes; a later reset is a clock problem
MAX_BACKOFF = 60.0
# With no checkpoint yet (first start), older items predate Guichet: importing them would send
# acknowledgements to conversations long over.
FIRST_RUN_LOOKBACK = timedelta(days=7)
NOT_JOURNALED = {"own_account", "retweet"}  # InboundMessage.automated values the poller drops
# author_id comes with its expansion too; asked for so that it never depends on that.
TWEET_FIELDS = "author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets"
DM_FIELDS = ["created_at", "sender_id", "dm_conversation_id", "attachments"]
USER_FIELDS = ["name", "username"]


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
                self.rt.report(NAME, describe(exc))
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
                when = created_at(event)
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
