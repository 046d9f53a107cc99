"""Routing rules: which category (and so which team and due date) a new ticket gets.

The rules live in ``config/routing.toml`` (``Settings.routing_file``), are read and checked once
at start-up (``load``), and are applied by the pure ``decide``: rules in file order, the first
that matches wins. Within a rule every kind of condition given must hold (keywords, patterns,
recipients, channels), and a list holds when any one of its elements does.

Keywords match whole words, ignoring case and accents ("Etat civil" finds "état civil", "rsa"
does not find "Versailles"); patterns are Python regular expressions, case-insensitive, both
searched in the subject and in the body.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Collection, Sequence
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.core.settings import Settings
from inbox.calendar import FrenchHolidays, WorkingCalendar, add_working_hours

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Typographic apostrophes and hyphens: "d’urbanisme" is "d'urbanisme", "nid-de-poule" is
# "nid de poule".
_FOLD = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "-": " ", "‐": " ", "‑": " "})


class RoutingError(ValueError):
    """The routing file cannot be used; the message names the file and the faulty part."""


def fold(text: str) -> str:
    """Lower case, no accents, one space between words: what keywords are compared on."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.translate(_FOLD).split())


class _Strict(BaseModel):
    # A misspelt key ("keyword") would silently drop a condition and widen the rule.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Labels(_Strict):
    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Category(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=50)  # the table's name
    label: Labels
    team: str = Field(min_length=1, max_length=100)
    due_hours: float | None = Field(default=None, gt=0)


class Rule(_Strict):
    name: str = ""
    category: str
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    _keywords: re.Pattern[str] | None = PrivateAttr(default=None)
    _patterns: tuple[re.Pattern[str], ...] = PrivateAttr(default=())

    @field_validator("keywords")
    @classmethod
    def _no_empty_keyword(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        for keyword in keywords:
            if not fold(keyword):
                raise ValueError(f"keyword {keyword!r} is empty")
        return keywords

    @field_validator("patterns")
    @classmethod
    def _valid_patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from None
        return patterns

    @field_validator("recipients", "channels")
    @classmethod
    def _lower(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values)

    @model_validator(mode="after")
    def _compile(self) -> Rule:
        if not (self.keywords or self.patterns or self.recipients or self.channels):
            raise ValueError("a rule needs keywords, patterns, recipients or channels")
        if self.keywords:
            words = "|".join(re.escape(fold(k)) for k in self.keywords)
            self._keywords = re.compile(rf"(?<!\w)(?:{words})(?!\w)")
        self._patterns = tuple(re.compile(p, re.IGNORECASE) for p in self.patterns)
        return self

    def matches(
        self, texts: Sequence[str], folded: Sequence[str], recipients: Collection[str], channel: str
    ) -> bool:
        if self._keywords is not None and not any(self._keywords.search(t) for t in folded):
            return False
        if self._patterns and not any(p.search(t) for p in self._patterns for t in texts):
            return False
        if self.recipients and not any(r in recipients for r in self.recipients):
            return False
        return not self.channels or channel in self.channels


class CalendarConfig(_Strict):
    timezone: str = "Europe/Paris"
    working_days: tuple[str, ...] = DAYS[:5]
    periods: tuple[str, ...] = ("08:30-12:00", "13:30-17:30")
    default_due_hours: float = Field(default=48, gt=0)
    holidays_subdivision: str = ""  # "57", "67", "68": Alsace-Moselle's two extra holidays

    @field_validator("working_days")
    @classmethod
    def _days(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        days = tuple(d.strip().lower()[:3] for d in days)
        unknown = [d for d in days if d not in DAYS]
        if unknown or not days:
            raise ValueError(f"working days are some of {', '.join(DAYS)}")
        return days

    @field_validator("periods")
    @classmethod
    def _periods(cls, periods: tuple[str, ...]) -> tuple[str, ...]:
        previous = time.min
        for period in periods:
            opens, closes = _period(period)
            if not previous <= opens < closes:
                raise ValueError(f"period {period!r} must end after it starts, in order")
            previous = closes
        if not periods:
            raise ValueError("at least one working period is needed")
        return periods

    def working_calendar(self) -> WorkingCalendar:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is unknown") from None
        try:
            holidays = FrenchHolidays(self.holidays_subdivision)
        except NotImplementedError:
            raise ValueError(
                f"holidays_subdivision {self.holidays_subdivision!r} is not a French one"
            ) from None
        return WorkingCalendar(
            timezone=zone,
            days=frozenset(DAYS.index(d) for d in self.working_days),
            periods=tuple(_period(p) for p in self.periods),
            holidays=holidays,
        )


def _period(text: str) -> tuple[time, time]:
    found = _PERIOD.match(text)
    try:
        if found is None:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"period {text!r} is not HH:MM-HH:MM") from None


class Routing(_Strict):
    calendar: CalendarConfig = CalendarConfig()
    categories: dict[str, Category] = {}
    rules: tuple[Rule, ...] = ()
    _calendar: WorkingCalendar = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _category_keys(cls, data: Any) -> Any:
        """A category's key is the name of its table: ``[categories.voirie]``."""
        if isinstance(data, dict) and isinstance(data.get("categories"), dict):
            data = dict(data)
            data["categories"] = {
                k: {**v, "key": k} if isinstance(v, dict) else v
                for k, v in data["categories"].items()
            }
        return data

    @model_validator(mode="after")
    def _check(self) -> Routing:
        for n, rule in enumerate(self.rules, 1):
            if rule.category not in self.categories:
                known = ", ".join(self.categories) or "none"
                raise ValueError(
                    f"{_rule_name(n, rule.name, rule.category)}: unknown category "
                    f"{rule.category!r} (categories: {known})"
                )
        try:
            self._calendar = self.calendar.working_calendar()
        except ValueError as exc:
            raise ValueError(f"calendar: {exc}") from None
        return self

    @property
    def working_calendar(self) -> WorkingCalendar:
        return self._calendar

    def due_at(self, created_at: datetime, category: Category | None) -> datetime:
        """When a ticket opened at ``created_at`` should be answered: every ticket's due date."""
        hours = self.calendar.default_due_hours
        if category is not None and category.due_hours is not None:
            hours = category.due_hours
        return add_working_hours(created_at, hours, self._calendar)


def decide(
    subject: str, body: str, recipients: Collection[str], channel: str, rules: Routing
) -> Category | None:
    """The category of the first rule the message satisfies, or None."""
    texts = (subject, body)
    folded = (fold(subject), fold(body))
    addresses = {r.lower() for r in recipients}
    for rule in rules.rules:
        if rule.matches(texts, folded, addresses, channel.lower()):
            return rules.categories[rule.category]
    return None


def of(settings: Settings) -> Routing:
    """The deployment's routing rules, read once per file; RoutingError if broken."""
    return _cached(settings.routing_file)


@lru_cache(maxsize=4)
def _cached(path: Path) -> Routing:
    return load(path)


def load(path: Path) -> Routing:
    """Read and check a routing file; RoutingError names the file and the faulty rule."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise RoutingError(f"{path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RoutingError(f"{path}: not valid TOML ({exc})") from None
    try:
        return Routing.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(e, data) for e in exc.errors(include_url=False, include_input=False)]
        raise RoutingError(f"{path}: " + "; ".join(problems)) from None


def _rule_name(number: int, name: str, category: str) -> str:
    return f"rule {number} ({name or category or 'unnamed'})"


def _problem(error: Any, data: dict[str, Any]) -> str:
    """One validation error as "rule 3 (voirie-keywords): patterns: pattern '(' is not …"."""
    loc = list(error["loc"])
    message = str(error.get("ctx", {}).get("error", "")) or error["msg"]
    where = ""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        raw = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else {}
        raw = raw if isinstance(raw, dict) else {}
        where = _rule_name(loc[1] + 1, str(raw.get("name", "")), str(raw.get("category", "")))
        loc = loc[2:]
    elif len(loc) >= 2 and loc[0] == "categories":
        where, loc = f"category {loc[1]!r}", loc[2:]
    elif loc and loc[0] == "calendar":
        where, loc = "calendar", loc[1:]
    path = ".".join(str(part) for part in loc if not isinstance(part, int))
    return ": ".join(part for part in (where, path, message) if part)
