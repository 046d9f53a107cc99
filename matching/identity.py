"""The Identity value the pipeline and the register hand to the matcher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

__all__ = ["Identity", "values"]

Many = str | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class Identity:
    """What is known about a person; every field is optional.

    ``name`` is a display name in any order or case ("DUPONT Marie", "Mme Marie Dupont",
    "Marie D."). ``email``, ``phone`` and ``handle`` (``"telegram:123456"``, ``"x:@mdupont"``)
    take one string or several. ``birth_date`` is ISO ``1984-03-02``, French ``02/03/1984`` or a
    ``date``.
    """

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_name: str | None = None
    birth_date: str | date | None = None
    email: Many = None
    phone: Many = None
    handle: Many = None
    address: str | None = None
    postcode: str | None = None
    city: str | None = None


def values(field: Many) -> tuple[str, ...]:
    """The non-empty strings of a one-or-many field."""
    if not field:
        return ()
    if isinstance(field, str):
        return (field,) if field.strip() else ()
    return tuple([v for v in field if isinstance(v, str) and v.strip()])
