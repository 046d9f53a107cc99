"""What reading a file exported from office software needs everywhere: its text, and a bad line.

French exports (a citizen register, a PBX's call records) come in UTF-8, often with a BOM, or
in Windows-1252. A bad row becomes a RowError with its line number and reason; it never stops
the rest of the file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
