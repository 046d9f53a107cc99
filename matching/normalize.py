"""Pure normalizers for the identity fields channels give us.

Everything here is deterministic and side-effect free; results are plain strings or ints that the
index can use as dictionary keys. Two spellings of the same thing must give the same key
(``06 12 34 56 78`` and ``+33612345678``, ``Hélène`` and ``HELENE``), which is the lesson of
Zammad and Chatwoot duplicating contacts on exact strings.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

import phonenumbers

__all__ = [
    "fold",
    "fold_city",
    "normalize_email",
    "normalize_handle",
    "normalize_phone",
    "normalize_postcode",
    "normalize_street",
    "parse_birth_date",
]


def _build_fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # Latin letters with diacritics -> base letters, done once so fold() is a C-speed translate.
    for cp in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and base != ch:
            table[cp] = base.lower()
    for cp in range(0x300, 0x370):  # combining marks of already-decomposed (NFD) input
        table[cp] = None
    specials = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o"}
    specials |= {"đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "þ": "th", "ð": "d", "ı": "i"}
    for ch, rep in specials.items():
        table[ord(ch)] = rep
    for ch in "-'’‘`´.,;:/_()[]{}\"!?&+*#@|\\~^°«»“”–—\t\n\r\u00a0":
        table[ord(ch)] = " "
    return table


_FOLD = _build_fold_table()


@lru_cache(maxsize=65_536)  # names repeat endlessly; translate() is slow per character
def fold(text: str) -> str:
    """Lower-case, strip accents, turn punctuation into spaces and collapse whitespace.

    ``fold("  L'Hôpital-Sainte  ŒUVRE ")`` is ``"l hopital sainte oeuvre"``. Letters of other
    scripts are kept (lower-cased), so Arabic or Chinese names still compare to themselves.
    """
    return " ".join(text.translate(_FOLD).lower().split())


# --- phones -----------------------------------------------------------------------------------

# French overseas departments share the national "0" format but have their own country codes
# (Saint-Barthélemy and Saint-Martin share Guadeloupe's, Mayotte shares Réunion's). Keyed by the
# three digits after the trunk 0.
_OVERSEAS: dict[str, str] = {
    "262": "262",  # Réunion
    "263": "262",
    "692": "262",
    "693": "262",
    "269": "262",  # Mayotte
    "639": "262",
    "590": "590",  # Guadeloupe, Saint-Barthélemy, Saint-Martin
    "690": "590",
    "691": "590",
    "596": "596",  # Martinique
    "696": "596",
    "697": "596",
    "594": "594",  # Guyane
    "694": "594",
    "508": "508",  # Saint-Pierre-et-Miquelon
}
# Regions that dial each other's numbers in the same 10-digit national format.
_FRENCH_PLAN = frozenset(("FR", "RE", "YT", "GP", "BL", "MF", "MQ", "GF", "PM"))
_PHONE_SEPARATORS = (".", "-", "/", "(", ")")
_E164 = phonenumbers.PhoneNumberFormat.E164


def normalize_phone(raw: str, region: str = "FR") -> str | None:
    """Return the E.164 form of a phone number (``+33612345678``), or None if it is not one.

    National numbers are read in ``region``; French national numbers of the overseas
    departments (``0692…`` Réunion, ``0690…`` Guadeloupe, …) get their own country code,
    as do the ``+33 692…`` forms people use for them by mistake.
    """
    raw = raw.strip()
    if raw[:4].lower() == "tel:":
        raw = raw[4:]
    if "(0)" in raw:  # "+33 (0)6 …": the trunk 0 written after the country code
        raw = raw.replace("(0)", "")
    compact = "".join(raw.split())
    if not compact.isdigit():
        for sep in _PHONE_SEPARATORS:
            if sep in compact:
                compact = compact.replace(sep, "")
    region = region.upper()
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    # Fast path for the shapes French registers are full of (phonenumbers costs ~80 µs a
    # call). Overseas numbers need no validation to get their country code: it follows from
    # the prefix alone.
    national = len(compact) == 10 and compact[0] == "0" and compact[1] != "0"
    if region in _FRENCH_PLAN and national and compact.isascii() and compact.isdigit():
        return "+" + _OVERSEAS.get(compact[1:4], "33") + compact[1:]
    international = len(compact) == 12 and compact.startswith("+33") and compact[3] != "0"
    if international and compact.isascii() and compact[1:].isdigit():
        # "+33 692…" is how people abroad wrongly write a Réunion mobile.
        return "+" + _OVERSEAS.get(compact[3:6], "33") + compact[3:]
    try:
        num = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(num) or phonenumbers.is_possible_number(num):
        # A possible but unallocated number is still normalized, so that the same digits
        # typed two ways give the same key.
        return phonenumbers.format_number(num, _E164)
    return None


# --- e-mail and handles -------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^\s@<>(),;:\"\[\]]+@[^\s@<>(),;:\"\[\]]+\.[^\s@<>(),;:\"\[\]]+$")


def normalize_email(raw: str) -> str | None:
    """Strip, drop ``mailto:`` and ``Name <…>`` wrapping, lower-case; None if not an address.

    No provider-specific folding (Gmail dots, ``+tag`` suffixes): those rules differ per provider
    and guessing wrong would merge two people's mailboxes, which is worse than a duplicate.
    The local part is lower-cased although RFC 5321 allows case-sensitive mailboxes: no provider
    a French citizen uses distinguishes them, and ``Marie.Dupont@`` vs ``marie.dupont@`` is common.
    """
    text = raw.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1].strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].split("?", 1)[0].strip()
    text = text.lower().rstrip(".")
    return text if _EMAIL.match(text) else None


_HANDLE_KINDS = {"telegram": "telegram", "tg": "telegram", "x": "x", "twitter": "x"}


def is_mobile(number: str) -> bool:
    """Whether an E.164 number is a mobile (it can read an SMS; a landline cannot)."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE)


def normalize_handle(raw: str) -> str | None:
    """Normalize ``"telegram:123456"`` or ``"x:@MDupont"`` to ``"kind:value"`` (lower-case).

    A handle without a known ``kind:`` prefix is refused (None): ``@mdupont`` alone could be
    anyone on any network.
    """
    kind, sep, value = raw.strip().partition(":")
    canonical = _HANDLE_KINDS.get(kind.strip().lower())
    value = value.strip().lstrip("@").lower()
    if not sep or canonical is None or not value or any(c.isspace() for c in value):
        return None
    return f"{canonical}:{value}"


# --- dates ------------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_FR = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})$")


def parse_birth_date(raw: str | date) -> int | None:
    """Parse ISO ``1984-03-02`` or French ``02/03/1984`` into a day number (date.toordinal())."""
    if isinstance(raw, date):
        return raw.toordinal()
    text = raw.strip()
    m = _ISO.match(text)
    if m:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _FR.match(text)
        if not m:
            return None
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    try:
        return date(year, month, day).toordinal()
    except ValueError:
        return None


# --- addresses --------------------------------------------------------------------------------

_STREET_WORDS = {
    "r": "rue",
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "bvd": "boulevard",
    "boul": "boulevard",
    "pl": "place",
    "imp": "impasse",
    "all": "allee",
    "ch": "chemin",
    "chem": "chemin",
    "rte": "route",
    "fg": "faubourg",
    "fbg": "faubourg",
    "sq": "square",
    "crs": "cours",
    "qu": "quai",
    "res": "residence",
    "resid": "residence",
    "lot": "lotissement",
    "st": "saint",
    "ste": "sainte",
    "pte": "porte",
    "prom": "promenade",
}
# Words that people add or drop freely ("rue des Lilas" / "rue Lilas"); not worth comparing.
_STREET_SKIP = {"de", "des", "du", "la", "le", "les", "l", "d", "et"}
_NUMBER = re.compile(r"^(\d+)\s*(bis|ter|quater|[abt])?\b\s*(.*)$")


def normalize_street(raw: str) -> str | None:
    """Fold a street address to ``"3b rue lilas"``: house number first, abbreviations expanded.

    Returns None when nothing useful is left.
    """
    text = fold.__wrapped__(raw)  # addresses are one per household: not worth caching
    m = _NUMBER.match(text)
    number = ""
    if m:
        suffix = (m[2] or "")[:1]
        number, text = m[1] + suffix, m[3]
    words = [_STREET_WORDS.get(w, w) for w in text.split() if w not in _STREET_SKIP]
    if not words:
        return None
    return " ".join([number, *words]) if number else " ".join(words)


def normalize_postcode(raw: str) -> str | None:
    """Keep the digits of a French postcode (``"33 000"`` -> ``"33000"``); None if not 5 digits."""
    if len(raw) == 5 and raw.isdigit():
        return raw
    digits = "".join(c for c in raw if c.isdigit())
    return digits if len(digits) == 5 else None


_CEDEX = re.compile(r"\bcedex\b.*$")


@lru_cache(maxsize=8192)
def fold_city(raw: str) -> str:
    """Fold a city name: ``"St-Denis CEDEX 9"`` -> ``"saint denis"``."""
    words = _CEDEX.sub("", fold(raw)).split()
    return " ".join(_STREET_WORDS.get(w, w) if w in ("st", "ste") else w for w in words)
