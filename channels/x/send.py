"""Talking to the X API v2 (tweepy): the client, direct messages, the one public answer.

Replies go out as direct messages. A public mention is answered in public only with a fixed
invitation to write privately: whatever the outbox asks, a public tweet never carries a name,
a reference or anything from the ticket.
"""

from __future__ import annotations

from typing import Any

import requests
import tweepy

from channels.base import (
    ChannelError,
    InboundMessage,
    Receipt,
    Sent,
    chat_acknowledgement,
    short_acknowledgement,
)
from gateway.core import i18n
from gateway.core.settings import Settings, XSettings

X_HOST = "https://api.twitter.com"
TIMEOUT_SECONDS = 30.0  # tweepy sets none: a silent connection would hang the poller forever
DM_MAX_CHARS = 10_000
PERMANENT = {
    400: "request refused",
    403: "not allowed (direct messages closed, or tweet gone)",
    404: "user or tweet not found",
}


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


def public_text(lang: str | None) -> str:
    """The only thing we ever post in public: an invitation to continue by direct message."""
    return i18n.text("ack_public", "en" if lang == "en" else "fr")


def acknowledgement(settings: Settings, msg: InboundMessage, receipt: Receipt) -> dict[str, Any]:
    """A direct message gets the chat acknowledgement; a public mention gets only the
    invitation to write privately, nothing personal."""
    if msg.public:
        return short_acknowledgement(settings, msg, i18n.text("ack_public", settings.language))
    return chat_acknowledgement(settings, msg, receipt)


def describe(exc: Exception) -> str:
    """An error as the channel's state shows it: HTTP status and type, never personal data."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"X {status}: {type(exc).__name__}" if status else f"X: {type(exc).__name__}"


def _translate(exc: Exception) -> ChannelError:
    """X's answer as a channel error that knows whether retrying can help (429, 5xx: yes)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in PERMANENT:
        return ChannelError(f"X {status}: {PERMANENT[status]}", permanent=True)
    return ChannelError(describe(exc))


def _posted_id(response: Any, key: str) -> str:
    try:
        value = response.json()["data"][key]
    except (ValueError, KeyError, TypeError) as exc:
        raise ChannelError("X accepted the message but returned no id", permanent=True) from exc
    return str(value)


def send(settings: Settings, recipient: str, content: dict[str, Any]) -> Sent:
    """A direct message to ``x:<user_id>``, or the fixed public invitation (``public``)."""
    user_id = recipient.removeprefix("x:")
    if not recipient.startswith("x:") or not user_id.isdigit():
        raise ChannelError("X: recipient is not x:<user id>", permanent=True)
    client = make_client(settings.x)
    try:
        if content.get("public"):
            answered = str(content.get("in_reply_to") or "")
            tweet_id = answered.removeprefix("x-tweet:")
            if not answered.startswith("x-tweet:") or not tweet_id.isdigit():
                raise ChannelError("X: a public answer needs the tweet it answers", permanent=True)
            # Never content["body"]: a public tweet must hold nothing from the ticket.
            text = public_text(content.get("lang"))
            response = client.create_tweet(in_reply_to_tweet_id=tweet_id, text=text)
            return Sent(provider_id=f"x-tweet:{_posted_id(response, 'id')}")
        body = str(content.get("body") or "")
        if not body.strip():
            raise ChannelError("X: empty message", permanent=True)
        if len(body) > DM_MAX_CHARS:
            raise ChannelError(
                f"X: longer than {DM_MAX_CHARS} characters, the DM limit", permanent=True
            )
        response = client.create_direct_message(participant_id=user_id, text=body)
        return Sent(provider_id=f"x-dm:{_posted_id(response, 'dm_event_id')}")
    except ChannelError:
        raise
    except (tweepy.TweepyException, requests.RequestException) as exc:
        raise _translate(exc) from exc
