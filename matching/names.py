"""French personal names: display-name parsing, nicknames and the first/last name comparisons.

Channels give a display name in any shape ("DUPONT Marie", "marie dupont", "M. Dupont",
"Mme Marie Dupont", "Marie D.", "Dupont, Marie", "Marie Dupont née Martin"). We do not guess
one reading: ``interpretations()`` lists the plausible (first name, last names) readings and the
scorer keeps the best one per candidate, so swapped order costs nothing. Case, commas, initials
and civilities narrow the readings when they are there.

Keys are folded (see ``normalize.fold``): a first name is its parts joined by one space
(``"jean pierre"`` for Jean-Pierre, Jean Pierre and JEAN-PIERRE alike); a last name likewise
(``"de la fontaine"``). Comparisons return a level from ``score.Level``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA, Indel

from matching.lexicon import ALIAS, COMMON_FIRST, NICKNAMES
from matching.lexicon import words as word_set
from matching.normalize import fold
from matching.phonetic import phonetic
from matching.score import Level

__all__ = [
    "Interpretation",
    "NameReadings",
    "compact",
    "compare_first",
    "compare_last",
    "initials",
    "interpretations",
    "is_initials",
    "last_name_keys",
    "nicknames",
    "parse_display_name",
    "split_name",
    "surname_forms",
]

_FEMALE_CIVILITIES = word_set("mme mmes mlle mlles melle madame mademoiselle mesdames")
# "M." is Monsieur, but also the initial of Marie or Michel: it says nothing about gender.
_MALE_CIVILITIES = word_set("mr mm monsieur messieurs")
CIVILITIES = (
    _FEMALE_CIVILITIES | _MALE_CIVILITIES | word_set("m dr docteur pr professeur me maitre mgr")
)
# Particles glue to the following word so "de La Fontaine" stays one surname. "ben" is left out
# on purpose: it is also the short form of Benjamin.
PARTICLES = word_set("de du des la le les d l van von der den da das do dos di del della")
GENERATIONS = word_set("fils pere jr junior sr senior aine cadet")
_BIRTH_MARKERS = frozenset(("nee", "ne"))
_USAGE_MARKERS = frozenset(("epouse", "ep", "epse", "vve", "veuve"))
_JOINERS = frozenset(("et", "ou"))


def compact(key: str) -> str:
    """Drop the spaces of a folded name key: ``"jean pierre"`` -> ``"jeanpierre"``."""
    return key.replace(" ", "")


def initials(key: str) -> str:
    """Initials of a folded name key: ``"jean pierre"`` -> ``"jp"``."""
    return "".join(part[0] for part in key.split())


@lru_cache(maxsize=4096)
def nicknames(key: str) -> frozenset[str]:
    """Compact spellings that are aliases of a first name (itself excluded)."""
    groups = ALIAS.get(compact(key), frozenset())
    return frozenset(n for g in groups for n in NICKNAMES[g].split()) - {compact(key)}


@lru_cache(maxsize=65_536)
def surname_forms(key: str) -> tuple[str, str, tuple[str, ...]]:
    """(compact, without particles, words of a double-barrelled name) of a folded last name:
    ``"de la fontaine"`` -> ("delafontaine", "fontaine", ()); ``"dupont martin"`` ->
    ("dupontmartin", "dupontmartin", ("dupont", "martin"))."""
    parts = key.split()
    core = [p for p in parts if p not in PARTICLES]
    words = tuple(p for p in core if len(p) >= 3) if len(core) > 1 else ()
    return compact(key), "".join(core) or compact(key), words


@lru_cache(maxsize=65_536)
def last_name_keys(key: str) -> tuple[str, ...]:
    """Index keys of a folded last name: compact form, form without particles, and each word of
    a double-barrelled name (``"dupont martin"`` -> dupontmartin, dupont, martin). The first
    key is the one whose block size gives the name's frequency."""
    whole, core, words = surname_forms(key)
    return tuple(dict.fromkeys(k for k in (whole, core, *words) if k))


# --- comparisons ------------------------------------------------------------------------------


def is_initials(key: str) -> bool:
    """Whether a folded name is only initials (``"j"``, ``"j p"``)."""
    return all(len(part) == 1 for part in key.split())


def _short_typo(a: str, b: str) -> bool:
    """One typo in a three-letter name: a dropped or added letter (Lue / Luce) or two letters
    swapped (uLc / Luc), never a changed letter (Léa / Léo are two people)."""
    if Indel.distance(a, b, score_cutoff=1) <= 1:
        return True
    return len(a) == len(b) and sorted(a) == sorted(b) and OSA.distance(a, b) == 1


@lru_cache(maxsize=65_536)
def compare_first(query: str, record: str) -> Level:
    """Compare two folded first names (either may be initials such as ``"j p"``)."""
    if not query or not record:
        return Level.MISSING
    if query == record:
        return Level.EXACT
    qc, rc = compact(query), compact(record)
    if qc == rc:
        return Level.EXACT
    if is_initials(query) or is_initials(record):
        qi, ri = initials(query), initials(record)
        return Level.INITIAL if qi.startswith(ri) or ri.startswith(qi) else Level.INITIAL_DIFFER
    qg, rg = ALIAS.get(qc), ALIAS.get(rc)
    if qg and rg and qg & rg:
        return Level.ALIAS
    q_parts, r_parts = query.split(), record.split()
    # "JP" / "JC" written as a word for Jean-Pierre / Jean-Claude.
    if (len(r_parts) > 1 and qc == initials(record)) or (
        len(q_parts) > 1 and rc == initials(query)
    ):
        return Level.ALIAS
    shortest = min(len(qc), len(rc))
    if shortest >= 4 and OSA.distance(qc, rc, score_cutoff=1) <= 1:
        return Level.FUZZY
    if shortest == 3 and _short_typo(qc, rc):
        return Level.FUZZY
    # "Jean" for Jean-Pierre, "Marie" for Anne-Marie: plausible, but father Jean / son
    # Jean-Pierre exist, so this is weaker evidence than an alias.
    if (len(r_parts) > 1 and len(q_parts) == 1 and qc in r_parts) or (
        len(q_parts) > 1 and len(r_parts) == 1 and rc in q_parts
    ):
        return Level.PARTIAL
    return Level.DIFFER


@lru_cache(maxsize=65_536)
def _compare_one_last(query: str, record: str) -> Level:
    if query == record:
        return Level.EXACT
    q_whole, q_core, q_words = surname_forms(query)
    r_whole, r_core, r_words = surname_forms(record)
    if q_whole in (r_whole, r_core) or q_core in (r_whole, r_core):
        return Level.EXACT  # "de La Fontaine", "Delafontaine", "La Fontaine", "Fontaine"
    if is_initials(query) or is_initials(record):
        qi, ri = query[0], record[0]
        ok = qi == ri or qi == r_core[0] or q_core[0] == ri
        return Level.INITIAL if ok else Level.INITIAL_DIFFER
    # Double-barrelled: "Dupont" for "Dupont-Martin" (or the other way round).
    if q_core in r_words or r_core in q_words:
        return Level.FUZZY
    a, b = q_whole, r_whole
    shortest = min(len(a), len(b))
    if shortest >= 4 and OSA.distance(a, b, score_cutoff=1) <= 1:
        return Level.FUZZY
    if shortest == 3 and _short_typo(a, b):  # "Ran" for Ryan
        return Level.FUZZY
    pa = phonetic(q_core)
    if len(pa) >= 3 and pa == phonetic(r_core) and a[0] == b[0]:
        return Level.FUZZY
    return Level.DIFFER


def compare_last(queries: tuple[str, ...], last: str, birth: str) -> tuple[Level, str]:
    """Best level between the query's surnames (usage and/or birth name, in any role) and the
    record's last and birth names; also returns the record name that matched (for frequencies).
    """
    # Level values rank EXACT < FUZZY < INITIAL < INITIAL_DIFFER < DIFFER; MISSING is worst.
    best, rank, matched = Level.MISSING, 99, ""
    for record in (last, birth):
        if not record:
            continue
        for query in queries:
            level = _compare_one_last(query, record)
            if level < rank:
                best, rank, matched = level, int(level), record
                if level is Level.EXACT:
                    return best, matched
    return best, matched


# --- display names ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Word:
    text: str  # as written, punctuation trimmed (for parse_display_name)
    key: str  # folded, parts joined by spaces
    upper: bool  # written in capitals (French convention for the surname)
    initial: bool  # "J.", "J.-P.", "JP"


@dataclass(frozen=True, slots=True)
class Interpretation:
    """One reading of a name: folded first name (or initials) and candidate surnames."""

    first: str  # "" when unknown
    lasts: tuple[str, ...]  # usage and/or birth name; () when unknown


_VOWELS = frozenset("aeiouy")
_ELISION = re.compile(r"^([dDlL])['’](?=\w)")


def _words(text: str) -> list[_Word]:
    words: list[_Word] = []
    for raw in text.split():
        raw = raw.strip(",;:!?()[]{}\"'«»")
        m = _ELISION.match(raw)
        pieces = [m[1], raw[2:]] if m else [raw]
        for piece in pieces:
            key = fold(piece)
            if not key:
                continue
            letters = [c for c in piece if c.isalpha()]
            parts = key.split()
            initial = len(letters) == 1 or (all(len(p) == 1 for p in parts) and len(parts) > 1)
            # "JP", "JC", "MC": two or three capitals without a vowel are initials, not a name.
            short_caps = 2 <= len(letters) <= 3 and piece.isupper() and "." not in piece
            if not initial and short_caps and not _VOWELS & set(key):
                initial, key = True, " ".join(key)
            upper = len(letters) >= 2 and not initial and all(c.isupper() for c in letters)
            text = piece if initial else piece.strip(".")
            words.append(_Word(text, key, upper, initial))
    return words


def _glue_particles(words: list[_Word]) -> list[_Word]:
    out: list[_Word] = []
    pending: list[_Word] = []
    for word in words:
        if word.key in PARTICLES and not word.initial:
            pending.append(word)
            continue
        if pending:
            text = " ".join([*(p.text for p in pending), word.text])
            key = " ".join([*(p.key for p in pending), word.key])
            out.append(_Word(text, key, word.upper, False))
            pending = []
        else:
            out.append(word)
    out.extend(pending)  # a trailing particle stays a word of its own
    return out


@dataclass(frozen=True, slots=True)
class _Parsed:
    main: list[_Word]
    other: list[_Word]  # the surname after "née" / "épouse"
    comma: int  # number of words before the comma, or -1
    generation: str
    gender: str  # "F" / "M" from a civility, "" when none or both ("M. et Mme")
    m_initial: bool  # began with "M." / "M", which may be an initial rather than Monsieur
    civility: bool  # a civility was stripped: the rest may well be a surname alone


def _parse(name: str) -> _Parsed:
    text = unicodedata.normalize("NFC", name).replace("’", "'")
    comma = -1
    if text.count(",") == 1:
        before, after = text.split(",")
        if before.strip() and after.strip():
            comma = len(_glue_particles(_words(before)))
            text = f"{before} {after}"
    words = _glue_particles(_words(text))
    stripped = 0
    genders = set()
    m_initial = len(words) > 1 and words[0].key == "m"
    while len(words) > 1 and (words[0].key in CIVILITIES or words[0].key in _JOINERS):
        if words[0].key in _FEMALE_CIVILITIES:
            genders.add("F")
        elif words[0].key in _MALE_CIVILITIES:
            genders.add("M")
        words = words[1:]
        stripped += 1
    if comma >= 0:
        comma = max(comma - stripped, -1)
    generation = ""
    kept = []
    for i, word in enumerate(words):
        if i > 0 and word.key in GENERATIONS:
            generation = word.key
        else:
            kept.append(word)
    main, other = kept, []
    for i, word in enumerate(kept):
        if 0 < i < len(kept) - 1 and (word.key in _BIRTH_MARKERS or word.key in _USAGE_MARKERS):
            main, other = kept[:i], kept[i + 1 :]
            break
    if comma > len(main):
        comma = -1
    gender = genders.pop() if len(genders) == 1 else ""
    return _Parsed(main, other, comma, generation, gender, m_initial, stripped > 0)


def _side(words: list[_Word]) -> str:
    names = [w.key for w in words if not w.initial]
    if names:
        return " ".join(names)  # a middle initial ("Jean P. Dupont") adds nothing
    return " ".join(w.key for w in words)


def _splits(parsed: _Parsed) -> list[tuple[list[_Word], list[_Word]]]:
    """(first-name words, last-name words) readings, most constrained rules first."""
    words = parsed.main[:5]
    n = len(words)
    if n == 0:
        return []
    if 0 < parsed.comma < n:
        return [(words[parsed.comma :], words[: parsed.comma])]
    caps = [w for w in words if w.upper]
    if caps and len(caps) < n and any(not w.initial and not w.upper for w in words):
        return [([w for w in words if not w.upper], caps)]
    if n == 1:
        return [(words, []), ([], words)]
    out = []
    for k in range(1, n):
        out.append((words[:k], words[k:]))
        out.append((words[k:], words[:k]))
    return out


@dataclass(frozen=True, slots=True)
class NameReadings:
    """What a display name says: its readings, generation marker ("fils") and civility gender."""

    readings: tuple[Interpretation, ...]
    generation: str
    gender: str


def interpretations(name: str) -> NameReadings:
    """All plausible readings of a display name."""
    parsed = _parse(name)
    other = _side(parsed.other) if parsed.other else ""
    seen: dict[Interpretation, None] = {}
    for first_words, last_words in _splits(parsed):
        last = _side(last_words) if last_words else ""
        lasts = tuple(x for x in (last, other) if x)
        first = _side(first_words) if first_words else ""
        seen.setdefault(Interpretation(first, lasts))
        if parsed.m_initial and not first and lasts:
            seen.setdefault(Interpretation("m", lasts))  # "M. Dupont" may be Marie Dupont
    if parsed.civility and 1 < len(parsed.main) <= 4 and parsed.comma < 0:
        # "Mr de Jode Vastraedsd", "Mme Le Gall Kerhervé": a civility then a long surname.
        whole = _side(parsed.main)
        seen.setdefault(Interpretation("", tuple(x for x in (whole, other) if x)))
    if not seen and other:
        seen[Interpretation("", (other,))] = None
    return NameReadings(tuple(seen), parsed.generation, parsed.gender)


def _pretty(words: list[_Word]) -> str:
    return " ".join(w.text.title() if w.upper else w.text for w in words)


def _is_first(word: _Word) -> bool:
    return word.key.split()[0] in COMMON_FIRST


def parse_display_name(name: str) -> tuple[str, str]:
    """Best (first name, last name) guess for a display name, as written (capitals title-cased).

    ``"DUPONT Marie"`` -> ("Marie", "Dupont"); ``"Dupont, Marie"`` -> ("Marie", "Dupont");
    ``"M. Dupont"`` -> ("", "Dupont"); ``"Marie D."`` -> ("Marie", "D.").
    """
    parsed = _parse(name)
    words = parsed.main[:5]
    n = len(words)
    if n == 0:
        return "", _pretty(parsed.other)
    first: list[_Word]
    last: list[_Word]
    constrained = _splits(parsed)
    if 0 < parsed.comma < n or (len(constrained) == 1 and n > 1):
        first, last = constrained[0]
    elif n == 1:
        first, last = (words, []) if _is_first(words[0]) else ([], words)
    elif words[-1].initial and not words[0].initial:
        # "Marie D." is a first name and an initial; "Dupont M." the other way round.
        swapped = n == 2 and not _is_first(words[0])
        first, last = (words[-1:], words[:-1]) if swapped else (words[:-1], words[-1:])
    elif words[0].initial:
        first, last = words[:1], words[1:]
    elif not _is_first(words[0]) and _is_first(words[-1]):
        k = n - 1
        while k > 1 and _is_first(words[k - 1]):
            k -= 1
        first, last = words[k:], words[:k]
    else:
        k = 1
        while k < n - 1 and _is_first(words[k]):
            k += 1
        first, last = words[:k], words[k:]
    return _pretty(first), _pretty(last) if last else _pretty(parsed.other)


def split_name(name: str) -> tuple[str, str, str]:
    """Folded (first, last, other surname) of a register's display name, for indexing."""
    first, last = parse_display_name(name)
    parsed = _parse(name)
    return fold(first), fold(last), _side(parsed.other) if parsed.other else ""
