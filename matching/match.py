"""The result of a match: a decision, ranked candidates and a per-field explanation."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal

from matching.score import Level

__all__ = ["FIELDS", "Decision", "Match", "verdict"]

Decision = Literal["link", "review", "new"]

# Order of the levels stored per candidate, and the names explain() gives them.
FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "address",
    "postcode",
    "email",
    "phone",
    "handle",
)

_VERDICT = {
    Level.MISSING: "missing",
    Level.EXACT: "agree",
    Level.ALIAS: "close",
    Level.FUZZY: "close",
    Level.PARTIAL: "close",
    Level.CLOSE: "close",
    Level.INITIAL: "close",
    Level.INITIAL_DIFFER: "differ",
    Level.DIFFER: "differ",
    Level.SIMILAR: "close",
}


def verdict(level: Level) -> str:
    """The UI word for a level: "agree", "close", "differ" or "missing"."""
    return _VERDICT[level]


@dataclass(frozen=True, slots=True)
class Match:
    """Outcome of ``CitizenIndex.match``.

    ``candidates`` holds at most five (citizen id, score) pairs, best first; ``score`` is the
    best one (0.0 when there is none). ``citizen_id`` is set only when ``decision == "link"``.
    """

    decision: Decision
    citizen_id: Hashable | None
    candidates: list[tuple[Hashable, float]]
    score: float
    levels: dict[Hashable, tuple[Level, ...]] = field(default_factory=dict, repr=False)
    reasons: dict[Hashable, str] = field(default_factory=dict, repr=False)

    def explain(self, citizen_id: Hashable) -> dict[str, str]:
        """Field -> "agree" | "close" | "differ" | "missing" for one of the candidates.

        A candidate that could not be linked whatever its score also gets a ``"rule"`` entry
        saying why (e.g. ``"name only"``). Raises KeyError for an id that is not a candidate.
        """
        levels = self.levels[citizen_id]
        out = {name: verdict(level) for name, level in zip(FIELDS, levels, strict=True)}
        if citizen_id in self.reasons:
            out["rule"] = self.reasons[citizen_id]
        return out
