"""Cheap typo-tolerant keys for blocking on names.

Two tools, both applied to folded, space-free name keys (``"dupont"``, ``"delafontaine"``):

* ``phonetic(key)`` — a small French phonetic code in the spirit of Soundex-FR / Phonex: it
  merges spellings that sound alike (Dupont / Dupond, Lefebvre / Lefèvre, Philippe / Filip).
* ``deletions(key)`` — the one-deletion neighbourhood (SymSpell): two keys within one edit
  (substitution, insertion, deletion, adjacent transposition) share a member of it. The index
  stores it for the *vocabulary* of distinct names only, not per citizen, so it stays small.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["deletions", "phonetic"]

_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"[^a-z]", ""),
        (r"(.)\1+", r"\1"),
        (r"ph", "f"),
        (r"th", "t"),
        (r"gh", "g"),
        (r"sch|sh", "ch"),
        (r"ck|cq|qu|q", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c(?!h)", "k"),
        (r"gu(?=[eiy])", "g"),
        (r"g(?=[eiy])", "j"),
        (r"bv", "v"),
        (r"w", "v"),
        (r"z", "s"),
        (r"y", "i"),
        (r"(?<=[aeiou])s(?=[aeiou])", "z"),
        (r"eau|au|o", "o"),
        (r"eu|oe", "e"),
        (r"ai|ei|ay|ey", "e"),
        (r"(?:an|am|en|em)(?![aeiou])", "A"),
        (r"(?:ain|ein|in|im|un|um|yn)(?![aeiou])", "I"),
        (r"(?:on|om)(?![aeiou])", "O"),
        (r"h", ""),
        (r"(?<=.)[dtsx]+$", ""),
        (r"(?<=.)e+$", ""),
        (r"(.)\1+", r"\1"),
    )
)
_VOWELS_AFTER_FIRST = re.compile(r"(?<=.)[aeiou]")


@lru_cache(maxsize=65_536)
def phonetic(key: str) -> str:
    """French phonetic code of a folded name key: ``phonetic("dupond") == phonetic("dupont")``.

    Vowels after the first letter are dropped (except nasal sounds, kept as capitals), so the
    code is a consonant skeleton; it is a blocking key, never a proof of identity.
    """
    text = key
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _VOWELS_AFTER_FIRST.sub("", text)


def deletions(key: str) -> set[str]:
    """All strings obtained by deleting one character of ``key`` (empty for keys under 4)."""
    if len(key) < 4:
        return set()
    return {key[:i] + key[i + 1 :] for i in range(len(key))}
