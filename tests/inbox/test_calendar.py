"""Working hours: every expected moment below was counted by hand on a calendar.

The default calendar: Monday to Friday, 08:30–12:00 and 13:30–17:30 in Paris (7.5 h a day),
French public holidays off.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from inbox.calendar import FrenchHolidays, WorkingCalendar, add_working_hours

PARIS = ZoneInfo("Europe/Paris")
CAL = WorkingCalendar()


def paris(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=PARIS)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def test_friday_afternoon_runs_over_the_weekend() -> None:
    # Friday 16:00–17:30 is 1.5 h; the last half hour is Monday 08:30–09:00.
    due = add_working_hours(paris(2027, 1, 8, 16), 2, CAL)
    assert due == utc(2027, 1, 11, 8) and due.tzinfo is UTC  # Monday 09:00 in Paris (CET)


def test_a_count_ending_at_closing_time_ends_there() -> None:
    assert add_working_hours(paris(2027, 1, 8, 16), 1.5, CAL) == paris(2027, 1, 8, 17, 30)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (paris(2027, 1, 12, 12, 30), 1, paris(2027, 1, 12, 14, 30)),  # lunch: from 13:30
        (paris(2027, 1, 11, 7), 1, paris(2027, 1, 11, 9, 30)),  # before opening
        (paris(2027, 1, 11, 18), 1, paris(2027, 1, 12, 9, 30)),  # after closing: next morning
        (paris(2027, 1, 9, 10), 0.5, paris(2027, 1, 11, 9)),  # Saturday: Monday
        (paris(2027, 1, 9, 10), 0, paris(2027, 1, 11, 8, 30)),  # nothing to count: next opening
        (paris(2027, 1, 12, 11), 2, paris(2027, 1, 12, 14, 30)),  # 1 h before lunch, 1 h after
    ],
)
def test_outside_working_time_counts_from_the_next_period(
    start: datetime, hours: float, due: datetime
) -> None:
    assert add_working_hours(start, hours, CAL) == due


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # Tuesday 13 July 2027, 17:00 + 1 h: Wednesday 14 July off, Thursday 09:00 (CEST).
        (paris(2027, 7, 13, 17), utc(2027, 7, 15, 7)),
        # Friday 26 March 2027: Easter Monday 29 March off, and summer time began on the 28th.
        (paris(2027, 3, 26, 17), utc(2027, 3, 30, 7)),
        # Wednesday 5 May 2027: Ascension Thursday off, Friday 7 May.
        (paris(2027, 5, 5, 17), utc(2027, 5, 7, 7)),
        # Thursday 30 April 2026: Friday 1 May off, Monday 4 May.
        (paris(2026, 4, 30, 17), utc(2026, 5, 4, 7)),
        # Thursday 24 December 2026: Christmas Friday off, Monday 28 December 09:00 (CET).
        (paris(2026, 12, 24, 17), utc(2026, 12, 28, 8)),
    ],
)
def test_public_holidays_are_skipped(start: datetime, due: datetime) -> None:
    assert add_working_hours(start, 1, CAL) == due


def test_across_the_end_of_summer_time() -> None:
    # Friday 23 October 2026, 17:00 CEST is 15:00 UTC; winter time from Sunday 25 October, so
    # Monday 09:00 is 08:00 UTC.
    assert add_working_hours(paris(2026, 10, 23, 17), 1, CAL) == utc(2026, 10, 26, 8)


def test_a_period_containing_the_change_of_time_lasts_its_real_length() -> None:
    # Open round the clock: Sunday 25 October 2026, 00:00–23:59 in Paris, lasts 24 h 59 min, so
    # 24 h from midnight (22:00 UTC on Saturday) end at 23:00 the same Sunday, not on Monday.
    always = WorkingCalendar(
        days=frozenset(range(7)), periods=((time(0), time(23, 59)),), holidays=frozenset()
    )
    assert add_working_hours(paris(2026, 10, 25, 0), 24, always) == utc(2026, 10, 25, 22)


def test_48_working_hours_from_monday_morning() -> None:
    # Monday 09:00–17:30 is 7 h; Tuesday to Friday 30 h (37); next Monday 7.5 h (44.5); the last
    # 3.5 h fill Tuesday 08:30–12:00.
    assert add_working_hours(paris(2027, 1, 11, 9), 48, CAL) == paris(2027, 1, 19, 12)


def test_a_week_with_a_holiday_takes_a_day_longer() -> None:
    # Monday 8 November 2027, 08:30 + 37.5 h: Thursday 11 November (Armistice) is off, so the
    # five working days end on Monday 15 November at 17:30, not Friday 12.
    assert add_working_hours(paris(2027, 11, 8, 8, 30), 37.5, CAL) == paris(2027, 11, 15, 17, 30)


def test_alsace_moselle_has_good_friday_off() -> None:
    moselle = WorkingCalendar(holidays=FrenchHolidays("57"))
    # Thursday 25 March 2027, 17:00 + 1 h: Good Friday off in Moselle only.
    assert add_working_hours(paris(2027, 3, 25, 17), 1, moselle) == utc(2027, 3, 30, 7)
    assert add_working_hours(paris(2027, 3, 25, 17), 1, CAL) == utc(2027, 3, 26, 8)
    assert date(2027, 12, 26) in FrenchHolidays("57") and date(2027, 12, 26) not in CAL.holidays


def test_naive_or_negative_input_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_hours(datetime(2027, 1, 11, 9), 1, CAL)
    with pytest.raises(ValueError, match="negative"):
        add_working_hours(paris(2027, 1, 11, 9), -1, CAL)


def test_a_calendar_without_working_days_is_an_error_not_a_hang() -> None:
    with pytest.raises(ValueError, match="no end"):
        add_working_hours(paris(2027, 1, 11, 9), 1, WorkingCalendar(days=frozenset()))
