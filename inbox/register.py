"""Reading an existing citizen register exported from a spreadsheet (pure: bytes in, rows out).

French exports come as ``;``- or ``,``-separated CSV, in UTF-8 (often with a BOM) or
Windows-1252, with dates as ``02/03/1984`` or ISO. A bad row becomes a RowError carrying its
line number and reason; it never stops the rest.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from gateway.core.spreadsheet import RowError, decode
from matching import normalize_email, normalize_phone

COLUMNS = (
    "external_id",
    "first_name",
    "last_name",
    "birth_name",
    "birth_date",
    "email",
    "phone",
    "address",
    "postcode",
    "city",
)
_FR_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class RegisterRow:
    line: int
    external_id: str
    first_name: str
    last_name: str
    birth_name: str
    birth_date: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    address: str
    postcode: str
    city: str


def parse_date(value: str) -> str:
    """ISO date from ``02/03/1984``, ``2/3/1984`` or ``1984-03-02``; ValueError otherwise."""
    value = value.strip()
    if not value:
        return ""
    if m := _FR_DATE.match(value):
        day, month, year = (int(g) for g in m.groups())
    elif m := _ISO_DATE.match(value):
        year, month, day = (int(g) for g in m.groups())
    else:
        raise ValueError(f"unreadable birth date {value!r} (expected 02/03/1984 or 1984-03-02)")
    try:
        return date(year, month, day).isoformat()
    except ValueError as exc:  # 31/02/1990
        raise ValueError(f"impossible birth date {value!r}: {exc}") from exc


def _split(value: str, separators: str) -> list[str]:
    """Several addresses or numbers in one cell, as spreadsheets hold them."""
    return [v.strip() for v in re.split(f"[{separators}]", value) if v.strip()]


def _row(line: int, cells: dict[str, str], region: str) -> RegisterRow | RowError:
    get = {k: (cells.get(k) or "").strip() for k in COLUMNS}
    if not get["external_id"]:
        return RowError(line, "external_id is empty")
    if not (get["first_name"] or get["last_name"] or get["birth_name"]):
        return RowError(line, "no name")
    try:
        birth_date = parse_date(get["birth_date"])
    except ValueError as exc:
        return RowError(line, str(exc))
    emails, phones = [], []
    for raw in _split(get["email"], r"|/,;\s"):
        if (email := normalize_email(raw)) is None:
            return RowError(line, f"invalid e-mail address {raw!r}")
        emails.append(email)
    for raw in _split(get["phone"], "|/,;"):
        if (phone := normalize_phone(raw, region)) is None:
            return RowError(line, f"invalid phone number {raw!r}")
        phones.append(phone)
    return RegisterRow(
        line=line,
        external_id=get["external_id"],
        first_name=get["first_name"],
        last_name=get["last_name"],
        birth_name=get["birth_name"],
        birth_date=birth_date,
        emails=tuple(emails),
        phones=tuple(phones),
        address=get["address"],
        postcode=get["postcode"],
        city=get["city"],
    )


def read_register(data: bytes, region: str = "FR") -> Iterator[RegisterRow | RowError]:
    """Rows of a register export. Raises ValueError if the file is not such an export at all."""
    text = decode(data)
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    reader.fieldnames = [(f or "").strip().lower() for f in reader.fieldnames or []]
    if "external_id" not in reader.fieldnames:
        raise ValueError(f"no external_id column (columns: {', '.join(COLUMNS)})")
    for cells in reader:
        if not any((v or "").strip() for v in cells.values() if isinstance(v, str)):
            continue  # blank line
        yield _row(reader.line_num, cells, region)
