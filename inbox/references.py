"""Public ticket references: short, readable over the phone, not guessable.

``K7M4-9XQ2``: seven random symbols and a check symbol, from an alphabet without the symbols
people confuse when they read or hear them (0/O, 1/I/L). 31⁷ ≈ 2.7·10¹⁰ values, drawn with
``secrets``; the check symbol catches a single wrong or swapped symbol when an agent types a
reference read over the phone.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_BODY = 7
PATTERN = re.compile(rf"\b([{ALPHABET}]{{4}})-([{ALPHABET}]{{4}})\b")


def _check_symbol(body: str) -> str:
    # Weighted sum modulo a prime-sized alphabet (31): detects any single substitution and any
    # transposition of two adjacent symbols.
    total = sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_reference() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(_BODY))
    full = body + _check_symbol(body)
    return f"{full[:4]}-{full[4:]}"


def is_valid(reference: str) -> bool:
    ref = reference.upper().replace("-", "").replace(" ", "")
    return (
        len(ref) == _BODY + 1
        and all(c in ALPHABET for c in ref)
        and _check_symbol(ref[:_BODY]) == ref[_BODY]
    )


def find_in_text(text: str) -> list[str]:
    """Valid references mentioned in a subject or body, in order of appearance."""
    found = [f"{a}-{b}" for a, b in PATTERN.findall(text.upper())]
    return [ref for ref in dict.fromkeys(found) if is_valid(ref)]
