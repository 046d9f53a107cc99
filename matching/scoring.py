"""Score one candidate against a query: levels per field, Fellegi–Sunter bits, hard rules.

Comparisons are memoised per query on the record's interned values, so the forty Martins of
a block cost one surname comparison, not forty.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA

from matching.fields import Fields, dob_close
from matching.lexicon import COMMON_FIRST, first_name_gender
from matching.names import compare_first, compare_last
from matching.score import (
    Level,
    dob_bits,
    first_bits,
    ident_bits,
    last_bits,
    place_bits,
    prior_bits,
    street_bits,
)
from matching.store import Rec, Store

__all__ = [
    "EMAIL",
    "HANDLE",
    "HOUSEHOLD_LINE",
    "PHONE",
    "Context",
    "Scored",
    "explain_levels",
    "score_candidate",
]

# Bits of the identifier-hit mask: which kinds of the query's contact points a record holds.
PHONE, EMAIL, HANDLE, HOUSEHOLD_LINE = 1, 2, 4, 8

_NAME_AGREES = (Level.EXACT, Level.ALIAS, Level.FUZZY)
_DIFFERS = (Level.DIFFER, Level.INITIAL_DIFFER)
_ESTABLISHED = 5  # register holders that make a first name a real name, not a typo
_FIRST_KNOWN = (Level.EXACT, Level.ALIAS, Level.FUZZY, Level.PARTIAL)


@dataclass(slots=True)
class Scored:
    """A scored candidate: Fellegi–Sunter weight in bits, the first four levels of
    ``match.FIELDS``, and the reason it may not be linked whatever its score ("" when it may)."""

    rec: Rec
    bits: float
    levels: tuple[Level, ...]
    cap: str


class Context:
    """A query, the store, and per-query memos."""

    def __init__(self, store: Store, q: Fields) -> None:
        self.store = store
        self.q = q
        self.n = len(store.recs)
        self.prior = prior_bits(self.n)
        self.has_ident = bool(q.phones or q.emails or q.handles)
        self.name_memo: dict[tuple[str, str, str, str], tuple[float, Level, Level]] = {}
        self.first_memo: list[dict[tuple[str, str], tuple[Level, float]]] = [{} for _ in q.readings]
        self.last_memo: list[dict[tuple[str, str], tuple[Level, float]]] = [{} for _ in q.readings]
        self.dob_memo: dict[int, Level] = {}
        self.street_memo: dict[tuple[str, str], tuple[Level, float]] = {}
        self.place_memo: dict[str, tuple[Level, float]] = {}

    def name(self, rec: Rec) -> tuple[float, Level, Level]:
        """Best (bits, first level, last level) over the query's readings of its name."""
        key = (rec.first, rec.gen, rec.last, rec.birth)
        found = self.name_memo.get(key)
        if found is None:
            found = (0.0, Level.MISSING, Level.MISSING)
            best = float("-inf")
            for i in range(len(self.q.readings)):
                fl, fb = self.first(i, rec)
                ll, lb = self.last(i, rec)
                if fb + lb > best:
                    best = fb + lb
                    found = (best, fl, ll)
            self.name_memo[key] = found
        return found

    def first(self, i: int, rec: Rec) -> tuple[Level, float]:
        memo = self.first_memo[i]
        key = (rec.first, rec.gen)
        found = memo.get(key)
        if found is None:
            query = self.q.readings[i].first
            level = compare_first(query, rec.first)
            if level is Level.FUZZY and self._real_name(query) and self._real_name(rec.first):
                # Marie / Marine, Louis / Louise: a typo on a personal phone, but possibly
                # another person at the same address or birth date.
                level = Level.SIMILAR
            if level in (Level.MISSING, Level.INITIAL) and self.q.gender:
                # "Mme Dupont" is not Roger Dupont.
                gender = first_name_gender(rec.first)
                if gender and gender != self.q.gender:
                    level = Level.DIFFER
            if level is Level.EXACT and self.q.generation != rec.gen:
                # "Jean Dupont fils" is not his father Jean Dupont.
                both = self.q.generation and rec.gen
                level = Level.DIFFER if both else Level.PARTIAL
            count = self.store.first_count.get(rec.first, 0)
            found = memo[key] = (level, first_bits(level, count, self.n))
        return found

    def _real_name(self, first: str) -> bool:
        """Whether a first name is an established name rather than possibly a typo."""
        return first in COMMON_FIRST or self.store.first_count.get(first, 0) >= _ESTABLISHED

    def last(self, i: int, rec: Rec) -> tuple[Level, float]:
        memo = self.last_memo[i]
        key = (rec.last, rec.birth)
        found = memo.get(key)
        if found is None:
            level, matched = compare_last(self.q.readings[i].lasts, rec.last, rec.birth)
            count = self.store.surname_count(matched)
            found = memo[key] = (level, last_bits(level, count, self.n))
        return found

    def dob(self, rec: Rec) -> Level:
        if not self.q.dob or not rec.dob:
            return Level.MISSING
        if rec.dob == self.q.dob:
            return Level.EXACT
        found = self.dob_memo.get(rec.dob)
        if found is None:
            close = dob_close(self.q.dob, rec.dob)
            found = self.dob_memo[rec.dob] = Level.CLOSE if close else Level.DIFFER
        return found

    def street(self, rec: Rec) -> tuple[Level, float]:
        if not self.q.street or not rec.street:
            return Level.MISSING, 0.0
        key = (rec.street, rec.place)
        found = self.street_memo.get(key)
        if found is None:
            level = _street_level(self.q, rec)
            found = self.street_memo[key] = (level, street_bits(level, self.n))
        return found

    def place(self, rec: Rec) -> tuple[Level, float]:
        found = self.place_memo.get(rec.place)
        if found is None:
            found = self.place_memo[rec.place] = self._place(rec.place)
        return found

    def _place(self, place: str) -> tuple[Level, float]:
        q = self.q
        pc, _, city = place.partition("|")
        if q.postcode and pc:
            level = Level.EXACT if q.postcode == pc else Level.DIFFER
            count = self.store.place_count.get(pc, 0)
        elif q.city and city:
            level = Level.EXACT if q.city == city else Level.DIFFER
            count = self.store.place_count.get("c:" + city, 0)
        else:
            return Level.MISSING, 0.0
        return level, place_bits(level, count, self.n)


def _split_number(street: str) -> tuple[str, str]:
    head, _, rest = street.partition(" ")
    return (head, rest) if head[:1].isdigit() else ("", street)


def _street_level(q: Fields, rec: Rec) -> Level:
    pc, _, city = rec.place.partition("|")
    if q.postcode and pc and q.postcode != pc:
        return Level.DIFFER  # the same street name in another town
    if (not q.postcode or not pc) and q.city and city and q.city != city:
        return Level.DIFFER
    street = rec.street
    if street == q.street:
        return Level.EXACT
    q_num, q_name = _split_number(q.street)
    r_num, r_name = _split_number(street)
    if q_num and r_num and q_num != r_num:
        # "3 bis" written "3": the same door; any other number is a neighbour.
        same_door = q_num.rstrip("abt") == r_num.rstrip("abt")
        return Level.CLOSE if same_door and q_name == r_name else Level.DIFFER
    if q_name == r_name:
        return Level.CLOSE  # number missing on one side
    if min(len(q_name), len(r_name)) >= 5 and OSA.distance(q_name, r_name, score_cutoff=1) <= 1:
        return Level.CLOSE
    return Level.DIFFER


def score_candidate(ctx: Context, rec: Rec, hit: int) -> Scored:
    """Fellegi–Sunter weight of ``rec`` for the query, with the rule that caps it if any.

    ``hit`` is the bitmask of identifier kinds the record shares with the query. ``levels``
    holds only the name, birth-date and street levels; ``explain_levels`` completes them for
    the few candidates shown.
    """
    q = ctx.q
    bits = ctx.prior
    if hit:
        agreeing = bool(hit & (PHONE | HOUSEHOLD_LINE)) + bool(hit & EMAIL) + bool(hit & HANDLE)
        bits += ident_bits(agreeing, hit == HOUSEHOLD_LINE, True, ctx.n)
    elif ctx.has_ident:
        bits += ident_bits(0, False, True, ctx.n)

    name_bits, first_level, last_level = ctx.name(rec)
    bits += name_bits
    dob_level = ctx.dob(rec) if q.dob else Level.MISSING
    bits += dob_bits(dob_level)
    street_level, street = ctx.street(rec)
    if street_level is not Level.MISSING:
        bits += street
    elif rec.place:
        bits += ctx.place(rec)[1]
    cap = _cap(hit, first_level, last_level, dob_level, street_level)
    return Scored(rec, bits, (first_level, last_level, dob_level, street_level), cap)


def explain_levels(ctx: Context, s: Scored, hit: int) -> tuple[Level, ...]:
    """All levels of a scored candidate, in ``match.FIELDS`` order."""
    q, rec = ctx.q, s.rec
    return (
        *s.levels,
        ctx.place(rec)[0] if rec.place else Level.MISSING,
        _ident_level(EMAIL, hit, bool(q.emails), rec, str),
        _ident_level(PHONE | HOUSEHOLD_LINE, hit, bool(q.phones), rec, int),
        _ident_level(HANDLE, hit, bool(q.handles), rec, None),
    )


def _ident_level(bit: int, hit: int, asked: bool, rec: Rec, kind: type | None) -> Level:
    if hit & bit:
        return Level.EXACT
    if not asked:
        return Level.MISSING
    for key in rec.contact_keys():
        if kind is int and isinstance(key, int):
            return Level.DIFFER
        if kind is str and isinstance(key, str) and ":" not in key:
            return Level.DIFFER
        if kind is None and isinstance(key, str) and ":" in key:
            return Level.DIFFER
    return Level.MISSING


def _cap(hit: int, first: Level, last: Level, dob: Level, street: Level) -> str:
    """Why this candidate must not be linked whatever its score, or ""."""
    if dob is Level.DIFFER:
        return "birth date differs"
    if hit:
        if first in _DIFFERS or (last in _DIFFERS and first not in _NAME_AGREES):
            return "contact point shared with a different name"
        if hit == HOUSEHOLD_LINE and first not in _FIRST_KNOWN and dob is not Level.EXACT:
            return "household phone without a first name"
        return ""
    if dob is Level.MISSING:
        return "name only" if street is Level.MISSING else "name and address only"
    if first not in _NAME_AGREES or last not in (Level.EXACT, Level.FUZZY):
        return "birth date without a full name"
    typos = (first is Level.FUZZY) + (last is Level.FUZZY) + (dob is Level.CLOSE)
    typos += street is Level.CLOSE
    if typos > 1:
        return "more than one typo"
    if dob is Level.CLOSE and street is not Level.EXACT:
        return "birth date typo without the address"
    return ""
