"""Turn an Identity into folded, comparable fields (the same code for register and queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from matching.identity import Identity, values
from matching.names import CIVILITIES, GENERATIONS, Interpretation, interpretations, split_name
from matching.normalize import (
    fold,
    fold_city,
    normalize_email,
    normalize_handle,
    normalize_phone,
    normalize_postcode,
    normalize_street,
    parse_birth_date,
)

__all__ = ["Fields", "dob_close", "extract", "is_household_line", "phone_key"]


@dataclass(slots=True)
class Fields:
    """Folded values of an Identity. Empty string / 0 / () mean "not given"."""

    first: str = ""
    last: str = ""
    birth: str = ""
    generation: str = ""
    readings: tuple[Interpretation, ...] = ()
    gender: str = ""  # from a civility: "F", "M" or ""
    dob: int = 0
    street: str = ""
    postcode: str = ""
    city: str = ""
    phones: tuple[int, ...] = ()
    emails: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()


# Fixed lines ring for a whole household: metropolitan 01-05 and 09 (internet boxes), and the
# overseas fixed ranges (country code + national prefix).
_HOUSEHOLD_PREFIXES: tuple[str, ...] = ("331", "332", "333", "334", "335", "339")
_HOUSEHOLD_PREFIXES += ("262262", "262263", "262269", "590590", "596596", "594594", "508508")


def is_household_line(key: int) -> bool:
    """Whether a phone key (see ``phone_key``) is a fixed line, shared by a household."""
    return str(key).startswith(_HOUSEHOLD_PREFIXES)


def phone_key(e164: str) -> int:
    """E.164 as an int (``+33612345678`` -> 33612345678): 32 bytes instead of ~60 as a str."""
    return int(e164[1:])


@lru_cache(maxsize=65_536)
def _name_field(raw: str | None) -> tuple[str, str]:
    """Fold a structured name field, dropping civilities and a generation marker."""
    words = fold(raw or "").split()
    while len(words) > 1 and words[0] in CIVILITIES:
        words = words[1:]
    generation = ""
    if len(words) > 1 and words[-1] in GENERATIONS:
        generation = words.pop()
    return " ".join(words), generation


def extract(identity: Identity, region: str, *, readings: bool) -> Fields:
    """Fold an Identity. With ``readings``, also list the readings of its names (queries)."""
    f = Fields()
    f.first, gen_first = _name_field(identity.first_name)
    f.last, gen_last = _name_field(identity.last_name)
    f.birth, _ = _name_field(identity.birth_name)
    f.generation = gen_first or gen_last
    if readings:
        found: list[Interpretation] = []
        if f.first or f.last or f.birth:
            found.append(Interpretation(f.first, tuple(x for x in (f.last, f.birth) if x)))
        if identity.name and identity.name.strip():
            parsed = interpretations(identity.name)
            found.extend(r for r in parsed.readings if r not in found)
            f.generation = f.generation or parsed.generation
            f.gender = parsed.gender
        f.readings = tuple(found)
    elif identity.name and identity.name.strip():
        first, last, other = split_name(identity.name)
        f.first, f.last, f.birth = f.first or first, f.last or last, f.birth or other
        f.generation = f.generation or interpretations(identity.name).generation
    if identity.birth_date:
        f.dob = parse_birth_date(identity.birth_date) or 0
    if identity.address:
        f.street = normalize_street(identity.address) or ""
    if identity.postcode:
        f.postcode = normalize_postcode(identity.postcode) or ""
    if identity.city:
        f.city = fold_city(identity.city)
    if identity.phone:
        phones = [normalize_phone(p, region) for p in values(identity.phone)]
        f.phones = tuple(dict.fromkeys([phone_key(p) for p in phones if p]))
    if identity.email:
        emails = [normalize_email(e) for e in values(identity.email)]
        f.emails = tuple(dict.fromkeys([e for e in emails if e]))
    if identity.handle:
        handles = [normalize_handle(h) for h in values(identity.handle)]
        f.handles = tuple(dict.fromkeys([h for h in handles if h]))
    return f


def _digits(day: int) -> str:
    d = date.fromordinal(day)
    return f"{d.day:02}{d.month:02}{d.year:04}"


def dob_close(a: int, b: int) -> bool:
    """Birth dates one typo apart: one digit, two adjacent digits swapped, or day/month swapped."""
    sa, sb = _digits(a), _digits(b)
    if sa[:2] == sb[2:4] and sa[2:4] == sb[:2] and sa[4:] == sb[4:]:
        return True
    diff = [i for i in range(8) if sa[i] != sb[i]]
    if len(diff) == 1:
        return True
    if len(diff) == 2 and diff[1] == diff[0] + 1:
        i, j = diff
        return sa[i] == sb[j] and sa[j] == sb[i]
    return False
