"""Bar charts drawn on the server as SVG geometry: no script, nothing to download, and the
page's data table next to each chart says the same thing in words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


def columns(points: list[tuple[str, int]], width: float, height: float) -> list[Bar]:
    """Vertical bars side by side, the tallest reaching ``height`` (a series of days)."""
    if not points:
        return []
    top = max(max(v for _, v in points), 1)
    step = width / len(points)
    gap = min(2.0, step / 4)
    bars = []
    for n, (label, value) in enumerate(points):
        h = height * value / top
        bars.append(Bar(label, value, n * step + gap / 2, height - h, step - gap, h))
    return bars


def rows(points: list[tuple[str, int]], width: float, row: float) -> list[Bar]:
    """Horizontal bars one under the other, the longest reaching ``width`` (a ranking)."""
    top = max([v for _, v in points] + [1])
    return [
        Bar(label, value, 0, n * row, width * value / top, row * 0.7)
        for n, (label, value) in enumerate(points)
    ]
