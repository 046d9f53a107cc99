"""Compact storage of the register and its inverted indexes.

One ``Rec`` (``__slots__``) per citizen holding only what is compared: folded names (interned,
so a million Maries share one string), the birth date as a day number (one int object per
distinct date), the street address (interned: shared by a household) and "postcode|city"
(interned: shared by a town), and the contact keys (phones as ints, a bare key rather than a
tuple when there is only one). Every inverted index maps a key to the single record holding
it, promoted to a list only when a second record shares the key; postings hold the records
themselves, so reading a block costs no id lookup; surname blocks are kept sorted by first
name, so that the Maries among ten thousand Martins are found by bisection. The name
vocabularies (distinct surnames and first names, not citizens) carry the typo-tolerant keys:
one-deletion neighbourhoods and a phonetic code.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Hashable, Iterator, Sequence
from typing import TypeVar

from matching.fields import Fields
from matching.names import compact, initials, last_name_keys
from matching.phonetic import deletions, phonetic

__all__ = ["Rec", "Store", "by_first", "drop", "get", "put", "put_sorted"]

K = TypeVar("K")
V = TypeVar("V")


def put(index: dict[K, V | list[V]], key: K, value: V) -> None:
    """Add ``value`` under ``key`` (a single value until the key is shared)."""
    held = index.get(key)
    if held is None:
        index[key] = value
    elif isinstance(held, list):
        held.append(value)
    else:
        index[key] = [held, value]


def drop(index: dict[K, V | list[V]], key: K, value: V) -> None:
    """Remove ``value`` from ``key`` (demoting a list of one back to the value)."""
    held = index.get(key)
    if held is value:
        del index[key]
    elif isinstance(held, list):
        held.remove(value)
        if len(held) == 1:
            index[key] = held[0]


def _first(rec: Rec) -> str:
    return rec.first


def put_sorted(index: dict[K, Rec | list[Rec]], key: K, rec: Rec) -> None:
    """Like ``put``, keeping shared lists sorted by first name so that a block can be read
    name by name (bisection) instead of record by record."""
    held = index.get(key)
    if held is None:
        index[key] = rec
    elif isinstance(held, list):
        bisect.insort(held, rec, key=_first)
    else:
        index[key] = sorted((held, rec), key=_first)


def get(index: dict[K, V | list[V]], key: K) -> Sequence[V]:
    """The values under ``key``, as a sequence."""
    held = index.get(key)
    if held is None:
        return ()
    if isinstance(held, list):
        return held
    return (held,)


def by_first(block: Sequence[Rec], first: str, prefix: bool = False) -> Iterator[Rec]:
    """The records of a block sorted by first name (see ``put_sorted``) whose first name is
    ``first`` (or starts with it, with ``prefix``)."""
    i = bisect.bisect_left(block, first, key=_first)
    n = len(block)
    if prefix:
        while i < n and block[i].first.startswith(first):
            yield block[i]
            i += 1
    else:
        while i < n and block[i].first == first:
            yield block[i]
            i += 1


class Rec:
    """One citizen, as compared. Empty string / 0 mean "unknown"."""

    __slots__ = ("birth", "cid", "contacts", "dob", "first", "gen", "last", "place", "street")

    def __init__(self, cid: Hashable) -> None:
        self.cid = cid
        self.first = self.last = self.birth = self.gen = ""
        self.street = ""  # "3b rue lilas"
        self.place = ""  # "postcode|city", shared by a whole town
        self.dob = 0
        # Phones (int), e-mails, "kind:handle"; a bare value when there is one (most citizens).
        self.contacts: int | str | tuple[int | str, ...] = ()

    def contact_keys(self) -> tuple[int | str, ...]:
        """The contact keys as a tuple."""
        c = self.contacts
        return c if isinstance(c, tuple) else (c,)

    @property
    def postcode(self) -> str:
        """The postcode part of ``place``."""
        return self.place.partition("|")[0]

    @property
    def city(self) -> str:
        """The city part of ``place``."""
        return self.place.partition("|")[2]

    def surname_keys(self) -> list[str]:
        """Index keys of the last and birth names."""
        keys = last_name_keys(self.last) if self.last else ()
        if self.birth:
            keys = (*keys, *last_name_keys(self.birth))
        return list(dict.fromkeys(keys))


class Store:
    """The records and every index over them."""

    def __init__(self) -> None:
        self.recs: dict[Hashable, Rec] = {}
        self.phones: dict[int, Rec | list[Rec]] = {}
        self.emails: dict[str, Rec | list[Rec]] = {}
        self.handles: dict[str, Rec | list[Rec]] = {}
        self.names: dict[str, Rec | list[Rec]] = {}  # surname keys (usage and birth names)
        self.dobs: dict[int, Rec | list[Rec]] = {}
        self.pc_initial: dict[str, Rec | list[Rec]] = {}  # postcode + surname initial
        self.place_count: dict[str, int] = {}  # postcode, or "c:" + city
        self.first_count: dict[str, int] = {}
        self._ints: dict[int, int] = {}
        # Vocabularies: distinct names ever seen; never shrunk (a stale entry costs a lookup).
        self.name_vocab: set[str] = set()
        self.name_dels: dict[str, str | list[str]] = {}
        self.name_sound: dict[str, str | list[str]] = {}
        self.first_vocab: dict[str, str | list[str]] = {}  # compact -> spaced forms
        self.first_dels: dict[str, str | list[str]] = {}
        self.first_parts: dict[str, str | list[str]] = {}  # part or initials -> compounds

    def upsert(self, cid: Hashable, f: Fields) -> None:
        """Add a record or merge ``f`` into it (contacts accumulate, given fields replace)."""
        rec = self.recs.get(cid)
        if rec is None:
            rec = self.recs[cid] = Rec(cid)
        else:
            self._unindex(rec)
        intern = sys.intern
        if f.first:
            rec.first, rec.gen = intern(f.first), intern(f.generation)
        elif f.generation:
            rec.gen = intern(f.generation)
        if f.last:
            rec.last = intern(f.last)
        if f.birth:
            rec.birth = intern(f.birth)
        if f.dob:
            rec.dob = self._ints.setdefault(f.dob, f.dob)
        if f.postcode or f.city:
            pc, city = rec.postcode, rec.city
            rec.place = intern(f"{f.postcode or pc}|{f.city or city}")
        if f.street:
            rec.street = intern(f.street)
        new: tuple[int | str, ...] = (*f.phones, *f.emails, *f.handles)
        if rec.contacts != ():
            new = tuple(dict.fromkeys((*rec.contact_keys(), *new)))
        rec.contacts = new[0] if len(new) == 1 else new
        self._index(rec)

    def remove(self, cid: Hashable) -> None:
        """Forget a record (KeyError if unknown)."""
        self._unindex(self.recs.pop(cid))

    def surname_count(self, name: str) -> int:
        """How many records carry this folded surname (as usage or birth name)."""
        return len(get(self.names, last_name_keys(name)[0])) if name else 0

    def _index(self, rec: Rec) -> None:
        for key in rec.contact_keys():
            if isinstance(key, int):
                put(self.phones, key, rec)
            else:
                put(self.handles if ":" in key else self.emails, key, rec)
        first = rec.first
        if first:
            seen = self.first_count.get(first, 0)
            self.first_count[first] = seen + 1
            if not seen:
                self._learn_first(first)
        keys = rec.surname_keys()
        for key in keys:
            put_sorted(self.names, key, rec)
            if key not in self.name_vocab:
                self._learn_surname(key)
        if rec.dob:
            put(self.dobs, rec.dob, rec)
        if rec.place:
            pc, _, city = rec.place.partition("|")
            count = self.place_count
            if pc:
                for letter in {k[0] for k in keys}:
                    put(self.pc_initial, pc + letter, rec)
                count[pc] = count.get(pc, 0) + 1
            if city:
                count["c:" + city] = count.get("c:" + city, 0) + 1

    def _unindex(self, rec: Rec) -> None:
        for key in rec.contact_keys():
            if isinstance(key, int):
                drop(self.phones, key, rec)
            else:
                drop(self.handles if ":" in key else self.emails, key, rec)
        if rec.first:
            self.first_count[rec.first] -= 1
        keys = rec.surname_keys()
        for key in keys:
            drop(self.names, key, rec)
        if rec.dob:
            drop(self.dobs, rec.dob, rec)
        pc, city = rec.postcode, rec.city
        if pc:
            for letter in {k[0] for k in keys}:
                drop(self.pc_initial, pc + letter, rec)
            self.place_count[pc] -= 1
        if city:
            self.place_count["c:" + city] -= 1

    def _learn_surname(self, key: str) -> None:
        if key in self.name_vocab:
            return
        key = sys.intern(key)
        self.name_vocab.add(key)
        for variant in deletions(key):
            put(self.name_dels, variant, key)
        put(self.name_sound, phonetic(key), key)

    def _learn_first(self, first: str) -> None:
        key = compact(first)
        if first in get(self.first_vocab, key):
            return
        put(self.first_vocab, key, first)
        for variant in deletions(key):
            put(self.first_dels, variant, first)
        parts = first.split()
        if len(parts) > 1:
            for part in {*parts, initials(first)}:
                put(self.first_parts, part, first)
