"""Fellegi–Sunter weights, the posterior, and the hard rules on top of them.

Each compared field gets a *level*; each level has an m-probability (how often a true match
shows it) and a u-probability (how often a random other person does). A level contributes
``log2(m / u)`` bits. A candidate's weight is the sum of its fields' bits plus the prior
``log2(P_KNOWN / N)``: the chance that a message comes from one given citizen of N before
looking at it. Missing fields contribute 0.

Posterior. A message comes from at most one citizen, so the scores are normalised over the
scored candidates and the "somebody new" hypothesis (weight ``1 - P_KNOWN``)::

    score_i = 2**W_i / (sum_j 2**W_j + (1 - P_KNOWN))

so two people who hold the same e-mail address and give no other clue each score about 0.5,
and a name shared by forty register entries gives forty small scores: homonyms and households
lower the score by construction, without a separate margin rule.

Frequencies. u for an exact first or last name is the name's frequency in the register
(term-frequency adjustment: "Martin" agreeing is weaker than "Kerguelen" agreeing), estimated
as count / max(N, MIN_POPULATION) and floored; u for an exact street address is a household's
size over N; u for a postcode is its share of the register (in one town everybody shares a few
postcodes). Identifiers: u = IDENT_FOREIGN_RATE / N, i.e. a message from someone else carries
a phone, e-mail or handle held by one given citizen with total probability IDENT_FOREIGN_RATE
across the register (relatives writing from the family phone, recycled numbers). N cancels: a
unique mobile alone gives P_KNOWN·m / (P_KNOWN·m + (1-P_KNOWN)·IDENT_FOREIGN_RATE) ≈ 0.997.

Thresholds. The score is this posterior, so ``link_threshold`` = 0.99 reads "the model puts at
most 1 % on anybody else, newcomer included", and the margin rule is implied (a runner-up can
hold at most 1 %). ``review_threshold`` = 0.3 is compared with the probability that the sender
is *one of* the candidates (the sum of their scores): forty homonymous Marie Martins share the
mass and together can still make a review, while one weak candidate makes a "new".

Calibration is checked by the benchmark (bench/matching.py): per score bin, the share of top
candidates that are the sender must be at least the bin's lower edge; at 10,000, 200,000 and
1,000,000 citizens every linkable candidate scoring >= 0.99 was the sender (also over 20,000
queries at 200,000 citizens, three seeds). The model assumes independent fields, which
households and homonyms violate, so it is over-confident exactly where privacy is at stake;
hard rules cap a candidate's score at ``link_threshold - 0.01`` (its ``explain()`` says why):

* name-only evidence (no identifier, no birth date agreeing) never links, whatever the score:
  name + address (father and son) or name + postcode are not enough;
* a birth date that differs by more than a typo vetoes a link;
* an identifier held by the candidate but given with a clearly different name (a relative
  writing, a recycled number; "Mme Dupont" for Roger Dupont) is a review;
* a fixed line (01-05, 09, overseas fixed ranges) rings for a household: it links only with a
  first name (or the birth date) that agrees; Marie for Marine does not (both are real names:
  a typo on a personal mobile, perhaps a sister on the home phone);
* without an identifier, a link needs first name, last name and birth date agreeing, with at
  most one typo among name, birth date and street address.
"""

from __future__ import annotations

import math
from enum import IntEnum

__all__ = [
    "HOUSEHOLD_FOREIGN_RATE",
    "IDENT_FOREIGN_RATE",
    "MIN_POPULATION",
    "P_KNOWN",
    "Level",
    "dob_bits",
    "first_bits",
    "ident_bits",
    "last_bits",
    "place_bits",
    "prior_bits",
    "street_bits",
]


class Level(IntEnum):
    """Comparison level of one field."""

    MISSING = 0  # absent on either side: no evidence either way
    EXACT = 1
    ALIAS = 2  # nickname or compound initials (Fred / Frédéric, JP / Jean-Pierre)
    FUZZY = 3  # one typo, a phonetic spelling, one part of a double-barrelled surname
    PARTIAL = 4  # one part of a compound first name (Jean / Jean-Pierre)
    CLOSE = 5  # dates and addresses: one typo
    INITIAL = 6  # only an initial was given, and it agrees
    INITIAL_DIFFER = 7
    DIFFER = 8
    SIMILAR = 9  # first names one letter apart but both real names (Marie / Marine)


P_KNOWN = 0.5  # share of messages that come from someone already in the register
MIN_POPULATION = 10_000  # below this many citizens, frequencies are not trusted
IDENT_FOREIGN_RATE = 0.003
HOUSEHOLD_FOREIGN_RATE = 0.03  # a landline is answered by relatives not in the register


def _bits(m: float, u: float) -> float:
    return math.log2(m / u)


# First name. m sums to 1 over the levels a full first name can show.
_FIRST_M = {
    Level.EXACT: 0.85,
    Level.ALIAS: 0.05,
    Level.FUZZY: 0.04,
    Level.SIMILAR: 0.01,
    Level.PARTIAL: 0.02,
    Level.DIFFER: 0.03,
}
_FIRST_U = {
    Level.ALIAS: 0.002,
    Level.FUZZY: 0.002,
    Level.SIMILAR: 0.01,
    Level.PARTIAL: 0.005,
    Level.DIFFER: 0.97,
}
_FIRST_U_MIN = 2e-4  # no first name is rarer than this among the people who write to us
# Initial only ("J. Dupont"): agrees for the true person, for 1 in ~13 others.
_INITIAL_BITS = _bits(0.97, 0.075)
_INITIAL_DIFFER_BITS = _bits(0.03, 0.925)

_LAST_M = {Level.EXACT: 0.88, Level.FUZZY: 0.07, Level.DIFFER: 0.05}
_LAST_U_MIN = 1e-5
_LAST_FUZZY_U_MIN = 3e-4

# Birth date: uniform over ~75 years of birth; "close" = one digit, day/month swapped.
_DOB = {
    Level.EXACT: _bits(0.95, 1 / 27_000),
    Level.CLOSE: _bits(0.03, 1 / 900),
    Level.DIFFER: _bits(0.02, 1.0),
}

# Street address (number + street). People move, registers lag: m(DIFFER) is not small.
_STREET_M = {Level.EXACT: 0.75, Level.CLOSE: 0.08, Level.DIFFER: 0.17}
_STREET_CLOSE_U_FACTOR = 20
_HOUSEHOLD = 2.5  # people per address: a random other person lives there with p = 2.5 / N
# Postcode or city, used only when the street cannot be compared.
_PLACE_M = {Level.EXACT: 0.9, Level.DIFFER: 0.1}

_IDENT_M = 0.9  # a message carries a contact point on record for its sender
_IDENT_MISS_M = 0.35  # ... or one the register does not know yet
_IDENT_EXTRA_BITS = 3.0  # a second agreeing identifier (phone and e-mail): correlated, so small


def _population(n: int) -> int:
    return max(n, MIN_POPULATION)


def prior_bits(n: int) -> float:
    """log2 of the prior that the message comes from one given citizen among ``n``."""
    return math.log2(P_KNOWN / max(n, 1))


def first_bits(level: Level, count: int, n: int) -> float:
    """Bits for a first-name comparison; ``count`` = register holders of the record's name."""
    if level is Level.MISSING:
        return 0.0
    if level is Level.EXACT:
        return _bits(_FIRST_M[level], max(count / _population(n), _FIRST_U_MIN))
    if level is Level.INITIAL:
        return _INITIAL_BITS
    if level is Level.INITIAL_DIFFER:
        return _INITIAL_DIFFER_BITS
    return _bits(_FIRST_M[level], _FIRST_U[level])


def last_bits(level: Level, count: int, n: int) -> float:
    """Bits for a last-name comparison; ``count`` = register holders of the matched name."""
    if level is Level.MISSING:
        return 0.0
    if level is Level.INITIAL:
        return _INITIAL_BITS
    if level is Level.INITIAL_DIFFER:
        return _INITIAL_DIFFER_BITS
    if level is Level.DIFFER:
        return _bits(_LAST_M[level], 1.0)
    tf = max(count / _population(n), _LAST_U_MIN)
    if level is Level.EXACT:
        return _bits(_LAST_M[level], tf)
    return _bits(_LAST_M[Level.FUZZY], max(3 * tf, _LAST_FUZZY_U_MIN))


def dob_bits(level: Level) -> float:
    """Bits for a birth-date comparison."""
    return _DOB.get(level, 0.0)


def street_bits(level: Level, n: int) -> float:
    """Bits for a street-address comparison (number and street, same town)."""
    if level is Level.MISSING:
        return 0.0
    u = _HOUSEHOLD / max(n, 1)
    if level is Level.EXACT:
        return _bits(_STREET_M[level], u)
    if level is Level.CLOSE:
        return _bits(_STREET_M[level], min(_STREET_CLOSE_U_FACTOR * u, 0.5))
    return _bits(_STREET_M[Level.DIFFER], 1.0)


def place_bits(level: Level, count: int, n: int) -> float:
    """Bits for a postcode/city comparison; ``count`` = register people with that postcode."""
    if level is Level.MISSING:
        return 0.0
    share = min(max(count, 1) / max(n, 1), 0.99)
    if level is Level.EXACT:
        return _bits(_PLACE_M[level], share)
    return _bits(_PLACE_M[Level.DIFFER], 1.0 - share)


def ident_bits(agreeing: int, household_only: bool, query_has_ident: bool, n: int) -> float:
    """Bits for identifiers (phone, e-mail, handle): ``agreeing`` = how many kinds agree;
    ``household_only`` when the only agreement is a fixed line, which rings for a household."""
    if agreeing:
        rate = HOUSEHOLD_FOREIGN_RATE if household_only else IDENT_FOREIGN_RATE
        return _bits(_IDENT_M, rate / max(n, 1)) + _IDENT_EXTRA_BITS * (agreeing > 1)
    return _bits(_IDENT_MISS_M, 1.0) if query_has_ident else 0.0
