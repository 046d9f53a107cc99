"""Working time: due dates counted in working hours, skipping weekends and French public holidays.

Pure: no clock, no database. Moments come in and go out as timezone-aware UTC; the counting
happens on the authority's wall clock (Europe/Paris by default), so a working period is
08:30–12:00 local time on either side of a change to or from summer time.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from holidays import country_holidays

MAX_DAYS = 3660  # ten years of calendar: a due date beyond that is a configuration mistake


class FrenchHolidays:
    """French public holidays (``subdivision`` "57", "67", "68" adds Alsace-Moselle's own).

    The ``holidays`` package fills in years as it is asked about them, which is not safe while
    pipeline threads share one object; here each year is computed whole before it is published.
    """

    def __init__(self, subdivision: str = "") -> None:
        self.subdivision = subdivision or None
        self._years: dict[int, frozenset[date]] = {}
        country_holidays("FR", subdiv=self.subdivision)  # an unknown subdivision fails now

    def _year(self, year: int) -> frozenset[date]:
        days = self._years.get(year)
        if days is None:
            days = frozenset(country_holidays("FR", subdiv=self.subdivision, years=year))
            self._years[year] = days
        return days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in self._year(day.year)


@dataclass(frozen=True)
class WorkingCalendar:
    """When the authority works: days (Monday = 0), daily periods, and holidays off."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    days: frozenset[int] = frozenset(range(5))
    periods: tuple[tuple[time, time], ...] = (
        (time(8, 30), time(12, 0)),
        (time(13, 30), time(17, 30)),
    )
    holidays: Container[date] = field(default_factory=FrenchHolidays, compare=False)


def add_working_hours(start: datetime, hours: float, cal: WorkingCalendar) -> datetime:
    """The moment ``hours`` of working time after ``start`` (UTC in, UTC out).

    A start outside working time counts from the next working period. A count that ends
    exactly at the end of a period ends there (Friday 17:30), not at the next period's start.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(UTC)
    day = start.astimezone(cal.timezone).date()
    for _ in range(MAX_DAYS):
        if day.weekday() in cal.days and day not in cal.holidays:
            for opens, closes in cal.periods:
                # Differences are taken in UTC: subtracting two times of one ZoneInfo gives
                # wall-clock time, an hour off across a change of summer time.
                begin = max(cursor, _at(day, opens, cal.timezone))
                end = _at(day, closes, cal.timezone)
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
    raise ValueError(f"no end to {hours} working hours within {MAX_DAYS} days")


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)
