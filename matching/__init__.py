"""Citizen matching: attach an incoming message's sender to the right citizen record.

Pure Python, no I/O. Normalise what a channel gives (names in any order and case, phones to
E.164 including the overseas departments, e-mail addresses, handles), find candidates through
inverted indexes (never a scan of the register), score them Fellegi–Sunter style into a
calibrated probability, and decide: ``link`` only when sure, ``review`` when unsure, ``new``
when nobody fits. See ``matching.score`` for the model, its constants and the hard rules.

    index = CitizenIndex()
    index.add(42, Identity(first_name="Marie", last_name="Dupont", phone="06 12 34 56 78"))
    m = index.match(Identity(name="DUPONT Marie", phone="+33612345678"))
    m.decision, m.citizen_id, m.candidates, m.explain(42)
"""

from matching.identity import Identity
from matching.index import CitizenIndex
from matching.match import Match
from matching.names import parse_display_name
from matching.normalize import fold, is_mobile, normalize_email, normalize_handle, normalize_phone

__all__ = [
    "CitizenIndex",
    "Identity",
    "Match",
    "fold",
    "is_mobile",
    "normalize_email",
    "normalize_handle",
    "normalize_phone",
    "parse_display_name",
]
