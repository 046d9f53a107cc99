"""Asterisk call detail records (``cdr_csv``'s Master.csv), read without I/O.

``guichet calls import`` reads the file with these functions and journals one payload per call
(channel ``phone``, envelope ``{"source": "asterisk", …}``, ``gateway.calls_import``);
``normalize`` (channels.phone) uses the same functions on the journaled rows, so a row the
import accepts is a row the pipeline can read.

Columns, in cdr_csv's order (uniqueid and userfield with ``loguniqueid``/``loguserfield``,
the default): accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata,
start, answer, end, duration, billsec, disposition, amaflags, uniqueid, userfield. Newer
versions append peeraccount, linkedid, sequence: ignored. Times are the PBX's local time.

A call that rang several phones has one row per phone, all with the caller's ``uniqueid``:
they are one call, answered if any of them was. The call is outgoing when an internal
extension (six digits at most) dialled an outside number; otherwise incoming.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from channels.phone.common import NAME
from gateway.core.spreadsheet import RowError  # the same reading as the citizen register

COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
)
REQUIRED = COLUMNS.index("uniqueid") + 1
OUTCOMES = {
    "ANSWERED": "answered",
    "NO ANSWER": "missed",
    "BUSY": "busy",
    "FAILED": "missed",
    "CONGESTION": "missed",
}
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class CdrCall:
    """One call, from one or several rows sharing its ``uniqueid``."""

    uniqueid: str
    src: str
    dst: str
    direction: str  # "in" or "out"
    outcome: str  # answered, missed, busy, voicemail
    disposition: str
    agent: str  # the extension that answered (in) or dialled (out)
    start: datetime
    answer: datetime | None
    end: datetime
    duration: int
    billsec: int


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _time(value: str, tz: tzinfo, name: str) -> datetime:
    try:
        return datetime.strptime(value.strip(), DATE_FORMAT).replace(tzinfo=tz).astimezone(UTC)
    except ValueError as exc:
        raise ValueError(f"{name}: not a date {value[:30]!r}") from exc


def _int(value: str, name: str) -> int:
    if not value.strip().isdigit():
        raise ValueError(f"{name}: not a number {value[:20]!r}")
    return int(value)


def _extension(value: str) -> bool:
    return value.isdigit() and len(value) <= 6


def _peer(channel: str) -> str:
    """``PJSIP/201-0000000a`` → ``201``: the phone behind a channel name."""
    name = channel.partition("/")[2] or channel
    return name.rpartition("-")[0] or name


def parse_row(fields: list[str], tz: tzinfo) -> CdrCall:
    """One CSV row as a call; ValueError says what is wrong with it."""
    if len(fields) < REQUIRED:
        raise ValueError(f"{len(fields)} columns, at least {REQUIRED} expected")
    row = dict(zip(COLUMNS, fields, strict=False))
    uniqueid = row["uniqueid"].strip()
    if not uniqueid or len(uniqueid) > 150:
        raise ValueError("uniqueid: missing or too long")
    disposition = row["disposition"].strip().upper()
    if disposition not in OUTCOMES:
        raise ValueError(f"disposition: unknown {disposition[:20]!r}")
    outcome = OUTCOMES[disposition]
    if outcome == "answered" and row["lastapp"].strip().lower() == "voicemail":
        outcome = "voicemail"  # answered by the voicemail application, not by a person
    src, dst = row["src"].strip()[:64], row["dst"].strip()[:64]
    direction = "out" if _extension(src) and not _extension(dst) else "in"
    start = _time(row["start"], tz, "start")
    answer = _time(row["answer"], tz, "answer") if row["answer"].strip() else None
    end = _time(row["end"], tz, "end") if row["end"].strip() else start
    duration, billsec = _int(row["duration"], "duration"), _int(row["billsec"], "billsec")
    if end < start:
        raise ValueError("end: before start")
    peer = row["dstchannel"] if direction == "in" else row["channel"]
    agent = _peer(peer.strip())[:200] if outcome == "answered" or direction == "out" else ""
    return CdrCall(
        uniqueid, src, dst, direction, outcome, disposition, agent, start, answer, end, duration,
        billsec,
    )  # fmt: skip


PRECEDENCE = {"missed": 0, "busy": 1, "voicemail": 2, "answered": 3}


def combine(calls: Iterable[CdrCall]) -> CdrCall:
    """The rows of one call (a ring group writes one per phone): answered by anyone wins."""
    rows = sorted(calls, key=lambda c: (PRECEDENCE[c.outcome], c.start))
    best = rows[-1]
    start = min(c.start for c in rows)
    end = max(c.end for c in rows)
    duration = max(best.duration, int((end - start).total_seconds()))
    return replace(best, start=start, end=end, duration=duration)


def parse_text(text: str, tz: tzinfo) -> CdrCall:
    """A journaled item: the CSV rows of one call."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows:
        raise ValueError("no CDR row")
    calls = [parse_row(r, tz) for r in rows]
    if len({c.uniqueid for c in calls}) != 1:
        raise ValueError("rows of different calls")
    return combine(calls)


def read_rows(text: str, tz: tzinfo) -> Iterator[tuple[int, list[str], CdrCall] | RowError]:
    """Each row with its first line number: parsed, or the reason it cannot be."""
    lines = io.StringIO(text)
    reader = csv.reader(lines)
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(line, f"unreadable CSV: {exc}")
            continue
        if not fields or fields == [""]:
            continue
        if fields[0].strip().lower() == "accountcode":
            continue  # a header line some exports add
        try:
            yield line, fields, parse_row(fields, tz)
        except ValueError as exc:
            yield RowError(line, str(exc))


def group(
    parsed: Iterable[tuple[int, list[str], CdrCall]],
) -> dict[str, tuple[int, list[list[str]]]]:
    """Rows by call key, in file order: key → (first line, rows)."""
    calls: dict[str, tuple[int, list[list[str]]]] = {}
    for line, fields, call in parsed:
        calls.setdefault("asterisk:" + call.uniqueid, (line, []))[1].append(fields)
    return calls


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def payloads(
    path: Path, calls: dict[str, tuple[int, list[list[str]]]], envelope: dict[str, Any]
) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """One journal payload per call: its rows as CSV, and where they came from."""
    for key, (line, rows) in calls.items():
        yield NAME, to_csv(rows), {**envelope, "key": key, "file": path.name, "line": line}


def import_envelope(tz_name: str, callbacks_since_hours: float, lang: str) -> dict[str, Any]:
    """What normalize needs to read a row and decide on it without a clock of its own."""
    cutoff = datetime.now(UTC) - timedelta(hours=callbacks_since_hours)
    return {
        "source": "asterisk",
        "tz": tz_name,
        "callbacks_since": cutoff.isoformat(),
        "lang": lang,
    }
