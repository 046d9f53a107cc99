"""A local X API v2, speaking its documented wire format for the endpoints Guichet uses.

Tests and the demo point ``settings.x.api_base`` at ``base_url`` and use ``credentials``; the
official client (tweepy) then talks to it as to api.twitter.com::

    with XSimulator() as sim:
        marie = sim.add_user("Marie Dupont", "marie_dupont")
        sim.add_mention(marie, "Le lampadaire de la rue Haute est en panne")
        sim.add_dm(marie, "Bonjour, voici mon adresse …")
        ... sim.sent_dms, sim.posted_tweets  # what the town hall "sent"

Endpoints: ``GET /2/users/:id/mentions`` (since_id, start_time, max_results,
pagination_token, expansions, tweet.fields, user.fields), ``GET /2/dm_events`` (event_types,
dm_event.fields, expansions, user.fields, max_results, pagination_token), ``POST /2/tweets``
and ``POST /2/dm_conversations/with/:participant_id/messages``. Answers are ``{"data", "includes",
"meta"}``; errors are the v2 problem JSON (``title``, ``detail``, ``type``, ``status``). Every
request must carry the bearer token or a valid OAuth 1.0a HMAC-SHA1 signature (posting and DMs
need the latter, as on X). Every answer has ``x-rate-limit-limit/-remaining/-reset`` headers.

Failures to inject: ``closed_dms`` (user ids: 403), ``missing_users`` (404), ``fail_next(
endpoint, status)`` (a 500 …) and ``throttle(seconds)``: every request answers 429 until then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from channels.simulators.base import Reply, Request, Simulator, json_reply

User = dict[str, str]

# Endpoint keys (rate limits, error injection) and their limits per 15-minute window.
LIMITS = {"mentions": 450, "dm_events": 300, "tweets": 200, "dm_send": 200}
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_DM_FIELDS = ("id", "event_type", "text")
PROBLEMS = {
    400: ("Invalid Request", "One or more parameters to your request was invalid."),
    401: ("Unauthorized", "Unauthorized"),
    403: ("Forbidden", "You are not permitted to perform this action."),
    404: ("Not Found Error", "Could not find the requested resource."),
    429: ("Too Many Requests", "Too Many Requests"),
    500: ("Internal Server Error", "Something went wrong. Please try again later."),
    503: ("Service Unavailable", "Service Unavailable"),
}


@dataclass(frozen=True)
class Call:
    """One request the simulator received."""

    method: str
    endpoint: str  # "mentions", "dm_events", "tweets", "dm_send", or the path
    params: dict[str, str]
    auth: str  # "bearer", "oauth1" or "" (refused)
    at: float  # time.time()
    status: int


class _Problem(Exception):
    """An error answer, as the v2 problem JSON."""

    def __init__(self, status: int, detail: str = "", title: str = "") -> None:
        default_title, default_detail = PROBLEMS.get(status, ("Error", "Error"))
        super().__init__(detail or default_detail)
        self.status = status
        title, detail = title or default_title, detail or default_detail
        self.body = {"title": title, "detail": detail, "type": "about:blank", "status": status}


class XSimulator(Simulator):
    """The X API v2 on 127.0.0.1 (a free port), recording what it is asked to do."""

    def __init__(
        self,
        user_id: str = "1500000000000000001",
        username: str = "mairie_exemple",
        name: str = "Mairie d'Exemple",
        limits: dict[str, int] | None = None,
        window_seconds: float = 900.0,
    ) -> None:
        super().__init__()
        self.me: User = {"id": user_id, "name": name, "username": username}
        self.credentials = {
            "bearer_token": "AAAA-simulated-bearer-token",
            "consumer_key": "sim-consumer-key",
            "consumer_secret": "sim-consumer-secret",
            "access_token": f"{user_id}-sim-access-token",
            "access_token_secret": "sim-access-token-secret",
        }
        self.limits = {**LIMITS, **(limits or {})}
        self.window_seconds = window_seconds
        self.closed_dms: set[str] = set()  # users who accept no DM from us: 403
        self.missing_users: set[str] = set()  # suspended or deleted accounts: 404
        self.posted_tweets: list[dict[str, Any]] = []  # our tweets (public replies)
        self.sent_dms: list[dict[str, Any]] = []  # our DMs: participant_id, text, event id
        self.calls: list[Call] = []
        self._users: dict[str, User] = {user_id: self.me}
        self._tweets: list[dict[str, Any]] = []  # every tweet, oldest first
        self._events: list[dict[str, Any]] = []  # every DM event, oldest first
        self._next_id = 1_790_000_000_000_000_000
        self._windows: dict[str, tuple[int, int]] = {}  # endpoint -> (reset epoch, used)
        self._throttled_until = 0
        self._errors: dict[str, list[int]] = {}

    def settings(self) -> dict[str, Any]:
        """The ``x`` settings that point Guichet at this simulator."""
        return {
            "enabled": True,
            "user_id": self.me["id"],
            "api_base": self.base_url,
            **self.credentials,
        }

    # -- what tests and the demo set up -----------------------------------------------------------

    def add_user(self, name: str, username: str) -> User:
        with self._lock:
            user = {"id": self._new_id(), "name": name, "username": username}
            self._users[user["id"]] = user
            return dict(user)

    def add_mention(
        self,
        author: User | str,
        text: str,
        *,
        in_reply_to: str | None = None,
        retweet: bool = False,
        ago: float = 0.0,
    ) -> dict[str, Any]:
        """A tweet by ``author`` mentioning the town hall (``@username`` added if missing).

        ``in_reply_to`` is the id of the tweet it answers (one of ours, say); ``retweet`` makes
        it a retweet of the town hall's latest mention, as X shows retweets in mentions.
        ``ago`` (seconds) backdates it; add older items first, so ids still grow with time.
        """
        with self._lock:
            user = self._user(author)
            tweet: dict[str, Any] = {"id": self._new_id(), "author_id": user["id"]}
            tweet["created_at"] = _iso(time.time() - ago)
            tweet["conversation_id"] = tweet["id"]
            handle = f"@{self.me['username']}"
            if retweet and self._tweets:
                original = self._tweets[-1]
                by = self._users[original["author_id"]]["username"]
                text = f"RT @{by}: {original['text']}"
                tweet["referenced_tweets"] = [{"type": "retweeted", "id": original["id"]}]
            elif handle.lower() not in text.lower():
                text = f"{handle} {text}"
            if in_reply_to is not None:
                parent = self._tweet(in_reply_to)
                tweet["in_reply_to_user_id"] = parent["author_id"] if parent else self.me["id"]
                tweet["conversation_id"] = parent["conversation_id"] if parent else in_reply_to
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": in_reply_to}]
            tweet["text"] = _escape(text)  # X escapes &, < and > in tweet text
            tweet["edit_history_tweet_ids"] = [tweet["id"]]
            self._tweets.append(tweet)
            return dict(tweet)

    def add_dm(self, sender: User | str, text: str, *, ago: float = 0.0) -> dict[str, Any]:
        """A direct message from ``sender`` to the town hall (``ago``: as add_mention)."""
        with self._lock:
            return dict(self._add_event(self._user(sender)["id"], text, at=time.time() - ago))

    def fail_next(self, endpoint: str, status: int, times: int = 1) -> None:
        """The next ``times`` requests to ``endpoint`` (a key of LIMITS) answer ``status``."""
        with self._lock:
            self._errors.setdefault(endpoint, []).extend([status] * times)

    def throttle(self, seconds: float) -> int:
        """Answer 429 to every request until ``seconds`` from now; return the reset epoch."""
        with self._lock:
            self._throttled_until = math.ceil(time.time() + seconds)
            return self._throttled_until

    def requests_to(self, endpoint: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.endpoint == endpoint]

    # -- internals ------------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._next_id += 4_096_000  # snowflakes grow with time; ours just grow
        return str(self._next_id)

    def _user(self, who: User | str) -> User:
        if isinstance(who, dict):
            self._users.setdefault(who["id"], dict(who))
            return self._users[who["id"]]
        username = re.sub(r"\W+", "_", who.lower()).strip("_")[:15] or "citoyen"
        user = {"id": self._new_id(), "name": who, "username": username}
        self._users[user["id"]] = user
        return user

    def _tweet(self, tweet_id: str) -> dict[str, Any] | None:
        return next((t for t in self._tweets if t["id"] == tweet_id), None)

    def _add_event(
        self, sender_id: str, text: str, other: str | None = None, at: float | None = None
    ) -> dict[str, Any]:
        peer = other or sender_id
        first, second = sorted((peer, self.me["id"]), key=int)
        event = {
            "id": self._new_id(),
            "event_type": "MessageCreate",
            "text": text,
            "sender_id": sender_id,
            "dm_conversation_id": f"{first}-{second}",
            "created_at": _iso(time.time() if at is None else at),
        }
        self._events.append(event)
        return event

    def _rate(self, endpoint: str, now: float) -> tuple[dict[str, str], bool]:
        """The rate-limit headers of this request, and whether it is over the limit."""
        limit = self.limits.get(endpoint, 900)
        reset, used = self._windows.get(endpoint, (0, 0))
        if now >= reset:
            reset, used = math.ceil(now + self.window_seconds), 0
        throttled = now < self._throttled_until
        over = throttled or used >= limit
        if not over:
            used += 1
        self._windows[endpoint] = (reset, used)
        if throttled:
            reset, used = self._throttled_until, limit
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(limit - used, 0)),
            "x-rate-limit-reset": str(reset),
        }
        return headers, over

    def respond(self, request: Request) -> Reply:
        method, path, query = request.method, request.path, request.query
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            body = None
        signed_url = f"http://{request.headers.get('Host', '')}{path}"
        auth = self.check_auth(request.headers.get("Authorization", ""), method, signed_url, query)
        status, answer, headers = self.handle(method, path, dict(query), body, auth)
        kind = "application/problem+json" if status >= 400 else "application/json"
        return json_reply(status, answer, f"{kind}; charset=utf-8", headers)

    def handle(
        self, method: str, path: str, params: dict[str, str], body: Any, auth: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one request: status, JSON body, headers."""
        endpoint, route_id = _route(method, path)
        now = time.time()
        with self._lock:
            headers: dict[str, str] = {}
            try:
                if endpoint is None:
                    raise _Problem(404, "The requested resource could not be found.")
                headers, over = self._rate(endpoint, now)
                if not auth:
                    raise _Problem(401)
                if over:
                    raise _Problem(429)
                queued = self._errors.get(endpoint)
                if queued:
                    raise _Problem(queued.pop(0))
                status, answer = self._dispatch(endpoint, route_id, params, body, auth)
            except _Problem as problem:
                status, answer = problem.status, problem.body
            self.calls.append(Call(method, endpoint or path, params, auth, now, status))
            return status, answer, headers

    def _dispatch(
        self, endpoint: str, route_id: str, params: dict[str, str], body: Any, auth: str
    ) -> tuple[int, dict[str, Any]]:
        if endpoint in ("tweets", "dm_send", "dm_events") and auth != "oauth1":
            raise _Problem(
                403,
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint. "
                "Supported authentication types are [OAuth 1.0a User Context, "
                "OAuth 2.0 User Context].",
                "Unsupported Authentication",
            )
        if endpoint == "mentions":
            return 200, self._mentions(route_id, params)
        if endpoint == "dm_events":
            return 200, self._dm_events(params)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise _Problem(400, "The `text` field is required and must be a string.")
        if endpoint == "tweets":
            return 201, self._post_tweet(body)
        return 201, self._post_dm(route_id, body["text"])

    def _mentions(self, user_id: str, params: dict[str, str]) -> dict[str, Any]:
        since, start = _num(params.get("since_id")), params.get("start_time")
        handle = f"@{self._users[user_id]['username']}".lower()
        found = [
            t
            for t in reversed(self._tweets)  # newest first, as X answers
            if t["author_id"] != user_id
            and handle in t["text"].lower()
            and (since is None or int(t["id"]) > since)
            and (start is None or t["created_at"][:19] >= start[:19])
        ]
        page, meta = self._page(found, params, 10, (5, 100))
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        return self._answer(page, meta, params, "tweet.fields", DEFAULT_TWEET_FIELDS, "author_id")

    def _dm_events(self, params: dict[str, str]) -> dict[str, Any]:
        types = _list(params.get("event_types")) or {"MessageCreate", "ParticipantsJoin"}
        found = [e for e in reversed(self._events) if e["event_type"] in types]
        page, meta = self._page(found, params, 100, (1, 100))
        return self._answer(page, meta, params, "dm_event.fields", DEFAULT_DM_FIELDS, "sender_id")

    def _answer(
        self,
        page: list[dict[str, Any]],
        meta: dict[str, Any],
        params: dict[str, str],
        fields_param: str,
        default_fields: tuple[str, ...],
        user_key: str,
    ) -> dict[str, Any]:
        """The requested fields of each item, and the users the expansion asks for."""
        if not page:  # X leaves out "data" (and "includes") when nothing matched
            return {"meta": meta}
        expanded = user_key in _list(params.get("expansions"))
        # An expansion brings its field into the objects too, as on X.
        fields = set(default_fields) | _list(params.get(fields_param))
        fields |= {user_key} if expanded else set()
        answer: dict[str, Any] = {
            "data": [{k: v for k, v in i.items() if k in fields} for i in page]
        }
        if expanded:
            user_fields = {"id", "name", "username"} | _list(params.get("user.fields"))
            ids = dict.fromkeys(i[user_key] for i in page if i.get(user_key) in self._users)
            users = [{k: v for k, v in self._users[u].items() if k in user_fields} for u in ids]
            answer["includes"] = {"users": users}
        return {**answer, "meta": meta}

    def _page(
        self,
        items: list[dict[str, Any]],
        params: dict[str, str],
        default: int,
        bounds: tuple[int, int],
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        size = _num(params.get("max_results")) or default
        if not bounds[0] <= size <= bounds[1]:
            raise _Problem(
                400,
                f"The `max_results` query parameter value [{size}] is not between "
                f"{bounds[0]} and {bounds[1]}",
            )
        token = params.get("pagination_token")
        if token:
            after = _num(token.removeprefix("p")) if token.startswith("p") else None
            if after is None:
                raise _Problem(400, "The `pagination_token` query parameter value is invalid.")
            items = [i for i in items if int(i["id"]) < after]
        page = items[:size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if len(items) > size:
            meta["next_token"] = f"p{page[-1]['id']}"
        return page, meta

    def _post_tweet(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = body.get("reply") or {}
        parent_id = str(reply.get("in_reply_to_tweet_id") or "")
        parent = self._tweet(parent_id) if parent_id else None
        if parent_id and parent is None:
            raise _Problem(
                403, "You attempted to reply to a Tweet that is deleted or not visible to you."
            )
        tweet: dict[str, Any] = {"id": self._new_id(), "author_id": self.me["id"]}
        tweet.update(created_at=_iso(time.time()), text=_escape(body["text"]))
        tweet["conversation_id"] = parent["conversation_id"] if parent else tweet["id"]
        if parent is not None:
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent_id}]
        tweet["edit_history_tweet_ids"] = [tweet["id"]]
        self._tweets.append(tweet)
        self.posted_tweets.append({**tweet, "text": body["text"], "in_reply_to": parent_id})
        created = {"id": tweet["id"], "text": body["text"]}
        return {"data": {**created, "edit_history_tweet_ids": [tweet["id"]]}}

    def _post_dm(self, participant_id: str, text: str) -> dict[str, Any]:
        if participant_id in self.missing_users or not participant_id.isdigit():
            raise _Problem(404, f"Could not find user with id: [{participant_id}].")
        if participant_id in self.closed_dms:
            raise _Problem(403, "You are not permitted to send Direct Messages to this user.")
        if not text.strip() or len(text) > 10_000:
            raise _Problem(400, "Text must be between 1 and 10000 characters.")
        event = self._add_event(self.me["id"], text, other=participant_id)
        self.sent_dms.append({"participant_id": participant_id, "text": text, "id": event["id"]})
        conversation = event["dm_conversation_id"]
        return {"data": {"dm_conversation_id": conversation, "dm_event_id": event["id"]}}

    def check_auth(self, header: str, method: str, url: str, query: list[tuple[str, str]]) -> str:
        """ "bearer", "oauth1" or "" for a missing or wrong Authorization header."""
        c = self.credentials
        if header == f"Bearer {c['bearer_token']}":
            return "bearer"
        if not header.startswith("OAuth "):
            return ""
        oauth = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
        signature = oauth.pop("oauth_signature", "")
        oauth.pop("realm", None)
        if (
            oauth.get("oauth_consumer_key") != c["consumer_key"]
            or oauth.get("oauth_token") != c["access_token"]
        ):
            return ""
        # RFC 5849 section 3.4: HMAC-SHA1 over the method, the URL and the sorted parameters.
        pairs = sorted((_pct(k), _pct(v)) for k, v in [*query, *oauth.items()])
        normalized = "&".join(f"{k}={v}" for k, v in pairs)
        base = "&".join((method.upper(), _pct(url), _pct(normalized)))
        key = f"{_pct(c['consumer_secret'])}&{_pct(c['access_token_secret'])}"
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        return "oauth1" if hmac.compare_digest(expected, signature) else ""


ROUTES = (
    ("GET", re.compile(r"/2/users/(\d+)/mentions"), "mentions"),
    ("GET", re.compile(r"/2/dm_events()"), "dm_events"),
    ("POST", re.compile(r"/2/tweets()"), "tweets"),
    ("POST", re.compile(r"/2/dm_conversations/with/([^/]+)/messages"), "dm_send"),
)


def _route(method: str, path: str) -> tuple[str | None, str]:
    """The endpoint key and the id in the path (user, participant)."""
    for verb, pattern, endpoint in ROUTES:
        match = pattern.fullmatch(path)
        if verb == method and match:
            return endpoint, match.group(1)
    return None, ""


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(epoch * 1000) % 1000:03d}Z"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _pct(value: str) -> str:
    return quote(value, safe="~")


def _num(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _list(value: str | None) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}
