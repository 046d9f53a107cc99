"""Candidate blocking: which records a query is compared with.

Candidates come from the query's phones, e-mails and handles; from its surnames (exact, one
edit away, or sounding the same) read through a first-name filter (exact, nickname, one edit,
compound part, or initial), so that "Marie Martin" reads the Maries among the Martins and not
every Martin; from its birth date; and, when the surname is only an initial ("Marie D."),
from (postcode, initial). There is no address index: an address finds a household, not a
person, and would cost a dict entry per home. Every source adds to a candidate's priority and
only the ``MAX_SCORED`` best are scored, identifier holders first; records left out still
count in the posterior (see ``index``).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from matching.fields import Fields
from matching.names import compact, is_initials, nicknames, surname_forms
from matching.phonetic import deletions, phonetic
from matching.store import Rec, Store, by_first, get

__all__ = ["MAX_SCORED", "candidates"]

MAX_SCORED = 200
MAX_UNFILTERED = 100  # records read from a surname block when there is no first name

_IDENT, _EXACT, _NEAR, _SOUND, _DOB, _PLACE = 1000, 30, 20, 10, 15, 5

# A first-name filter: None = take everyone, str = an initial, dict = name -> priority.
Filter = None | str | dict[str, int]


def _first_filter(store: Store, first: str) -> Filter:
    """Register first names that may be the query's ``first``, with a priority: the name itself
    (4), a nickname (3), a compound containing it or its initials, one edit away (2), and
    records with no first name or only an initial (1)."""
    if not first:
        return None
    if is_initials(first):
        return first[0]
    key = compact(first)
    accept: dict[str, int] = {}
    for name in get(store.first_vocab, key):
        accept[name] = 4
    for alias in nicknames(first):
        for name in get(store.first_vocab, alias):
            accept.setdefault(name, 3)
    parts = first.split()
    if len(parts) == 1:
        for name in get(store.first_parts, key):  # "jp" -> jean pierre; "jean" -> jean pierre
            accept.setdefault(name, 2)
    else:
        for part in parts:
            for name in get(store.first_vocab, part):
                accept.setdefault(name, 2)
    if len(key) >= 3:  # names with one more letter ("Léo" for Léon)
        for name in get(store.first_dels, key):
            accept.setdefault(name, 2)
    if len(key) >= 4:
        for variant in deletions(key):
            for name in get(store.first_vocab, variant):
                accept.setdefault(name, 2)
            for name in get(store.first_dels, variant):
                accept.setdefault(name, 2)
    accept[""] = 1  # records without a first name
    accept.setdefault(key[0], 1)  # records with only an initial
    return accept


def _surname_keys(store: Store, surname: str, near: bool) -> dict[str, int]:
    """Vocabulary keys for a query surname: exact, and (``near``) one edit away; the same
    sound when neither exists."""
    whole, core, words = surname_forms(surname)
    keys = list(dict.fromkeys((whole, core)))
    found = {k: _EXACT for k in (*keys, *words) if k in store.names}
    if near or not found:
        for key in (k for k in keys if len(k) >= 4):
            for name in get(store.name_dels, key):
                found.setdefault(name, _NEAR)
            for variant in deletions(key):
                if variant in store.names:
                    found.setdefault(variant, _NEAR)
                for name in get(store.name_dels, variant):
                    found.setdefault(name, _NEAR)
    if not found:
        # Same sound, when nothing is within one edit; short codes ("lr") sound like too much.
        for key in keys:
            code = phonetic(key)
            if len(code) >= 3:
                for name in get(store.name_sound, code):
                    found.setdefault(name, _SOUND)
    return found


def _read(block: Sequence[Rec], accept: Filter, weight: int, into: dict[Rec, int]) -> None:
    """Add a block's records that pass the first-name filter, keeping their best priority.

    A big block (a common surname) is read name by name through bisection, a small one record
    by record."""
    if accept is None:
        return
    if isinstance(accept, str):
        if len(block) > 8:
            for rec in (*by_first(block, ""), *by_first(block, accept, prefix=True)):
                if into.get(rec, 0) < weight:
                    into[rec] = weight
            return
        for rec in block:
            if (not rec.first or rec.first[0] == accept) and into.get(rec, 0) < weight:
                into[rec] = weight
        return
    if len(block) > 16 * len(accept):
        for name, bonus in accept.items():
            for rec in by_first(block, name):
                if into.get(rec, 0) < weight + bonus:
                    into[rec] = weight + bonus
        return
    for rec in block:
        found = accept.get(rec.first)
        if found is not None and into.get(rec, 0) < weight + found:
            into[rec] = weight + found


def _read_unfiltered(block: Sequence[Rec], postcode: str, weight: int, into: dict[Rec, int]) -> int:
    """Add a block read without a first name ("M. Dupont"): through the postcode if there is
    one, else at most MAX_UNFILTERED records. Returns how many records were left out."""
    if postcode:
        for rec in block:
            if rec.place[:5] == postcode and into.get(rec, 0) < weight:
                into[rec] = weight
        return 0
    for rec in block[:MAX_UNFILTERED]:
        if into.get(rec, 0) < weight:
            into[rec] = weight
    return max(len(block) - MAX_UNFILTERED, 0)


def _passes(rec: Rec, accept: Filter) -> bool:
    if accept is None:
        return True
    if isinstance(accept, str):
        return not rec.first or rec.first[0] == accept
    return rec.first in accept


def _bump(
    block: Sequence[Rec], accepts: Sequence[Filter], weight: int, prio: dict[Rec, int]
) -> None:
    for rec in block:
        if rec in prio or not accepts or any(_passes(rec, a) for a in accepts):
            prio[rec] = prio.get(rec, 0) + weight


def candidates(store: Store, q: Fields, hits: dict[Rec, int]) -> tuple[list[Rec], int]:
    """The records to score for query ``q`` (``hits``: holders of its identifiers), and how
    many plausible records were left unscored (they still weigh in the posterior)."""
    by_name: dict[Rec, int] = {}
    filters: dict[str, Filter] = {}
    initials: set[str] = set()
    left_out = 0
    for reading in q.readings:
        if reading.first not in filters:
            filters[reading.first] = _first_filter(store, reading.first)
        accept = filters[reading.first]
        for surname in reading.lasts:
            if is_initials(surname):
                initials.add(surname[0])
                continue
            for key, weight in _surname_keys(store, surname, accept is not None).items():
                block = get(store.names, key)
                if accept is None:
                    left_out += _read_unfiltered(block, q.postcode, weight, by_name)
                else:
                    _read(block, accept, weight, by_name)
    if q.postcode and initials:  # "Marie D." from 33000
        for reading in q.readings:
            if reading.first and any(is_initials(s) for s in reading.lasts):
                for letter in initials:
                    block = get(store.pc_initial, q.postcode + letter)
                    _read(block, filters[reading.first], _PLACE, by_name)
    prio = by_name
    for rec in hits:
        prio[rec] = prio.get(rec, 0) + _IDENT
    # Same birth date: a married name or a badly mangled surname still finds the record, but
    # only through a first-name filter when the query has a first name.
    accepts = [a for a in filters.values() if a is not None]
    if q.dob:
        _bump(get(store.dobs, q.dob), accepts, _DOB, prio)
    if len(prio) <= MAX_SCORED:
        return list(prio), left_out
    best = heapq.nlargest(MAX_SCORED, prio, key=prio.__getitem__)
    return best, left_out + len(prio) - MAX_SCORED
