"""Business-time arithmetic: weekends, Austrian holidays and the daylight-saving changes in Europe/Vienna."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.sla.calendars import WallClock, WorkingTime, parse_closed_days

VIENNA = ZoneInfo("Europe/Vienna")
AUSTRIA = WorkingTime(zone="Europe/Vienna", country="AT")


def vienna(*args: int) -> datetime:
    return datetime(*args, tzinfo=VIENNA)


def test_within_one_working_day():
    assert AUSTRIA.add(vienna(2026, 3, 3, 9, 0), timedelta(hours=4)) == vienna(2026, 3, 3, 13, 0)


def test_rolls_over_the_evening_and_the_weekend():
    # Friday 15:00 + 4 h: two hours on Friday, two on Monday morning.
    assert AUSTRIA.add(vienna(2026, 3, 6, 15, 0), timedelta(hours=4)) == vienna(2026, 3, 9, 10, 0)


def test_work_arriving_at_night_starts_counting_at_opening():
    assert AUSTRIA.add(vienna(2026, 3, 3, 22, 0), timedelta(hours=1)) == vienna(2026, 3, 4, 9, 0)
    assert AUSTRIA.add(vienna(2026, 3, 7, 10, 0), timedelta(minutes=30)) == vienna(2026, 3, 9, 8, 30)  # Saturday


def test_spring_forward_weekend_2026_03_29():
    # Friday 27 March 16:00 CET + 2 working hours = Monday 30 March 09:00 CEST; UTC offset changed.
    due = AUSTRIA.add(vienna(2026, 3, 27, 16, 0), timedelta(hours=2))
    assert due == vienna(2026, 3, 30, 9, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert AUSTRIA.between(vienna(2026, 3, 27, 16, 0), vienna(2026, 3, 30, 9, 0)) == timedelta(hours=2)


def test_fall_back_weekend_2026_10_25_and_national_day():
    # Friday 23 October 16:00 CEST + 2 h; Monday 26 October is the National Day: Tuesday 09:00 CET.
    due = AUSTRIA.add(vienna(2026, 10, 23, 16, 0), timedelta(hours=2))
    assert due == vienna(2026, 10, 27, 9, 0)
    assert due.astimezone(UTC) == datetime(2026, 10, 27, 8, 0, tzinfo=UTC)


def test_a_window_on_a_dst_day_counts_real_hours():
    # A calendar open around the clock on Sunday 29 March: the day has 23 hours.
    always = WorkingTime(zone="Europe/Vienna", weekdays=frozenset(range(7)), start=time(0), end=time(23, 59, 59))
    day = always.between(vienna(2026, 3, 29, 0, 0), vienna(2026, 3, 29, 23, 59, 59))
    assert day == timedelta(hours=22, minutes=59, seconds=59)


@pytest.mark.parametrize("holiday", [date(2026, 12, 8), date(2026, 12, 25), date(2026, 1, 6), date(2026, 10, 26)])
def test_austrian_public_holidays_are_not_working_days(holiday):
    assert not AUSTRIA.is_working_day(holiday)


def test_christmas_week():
    # Thursday 24 Dec 16:00 + 3 working hours: 1 h on the 24th; 25th and 26th are holidays, 27th Sunday.
    assert AUSTRIA.add(vienna(2026, 12, 24, 16, 0), timedelta(hours=3)) == vienna(2026, 12, 28, 10, 0)
    # Monday 7 Dec 16:00 + 2 h skips the Immaculate Conception (Tuesday 8 Dec).
    assert AUSTRIA.add(vienna(2026, 12, 7, 16, 0), timedelta(hours=2)) == vienna(2026, 12, 9, 9, 0)


def test_business_days_are_working_days_and_closing_days_count():
    closed = WorkingTime(zone="Europe/Vienna", country="AT", closed_days=parse_closed_days(["2026-03-04"]))
    two_days = closed.scale(timedelta(days=2))
    assert two_days == timedelta(hours=18)
    assert closed.add(vienna(2026, 3, 3, 8, 0), two_days) == vienna(2026, 3, 5, 17, 0)


def test_another_time_zone_and_calendar_without_holidays():
    new_york = WorkingTime(zone="America/New_York")
    start = datetime(2026, 12, 25, 14, 0, tzinfo=ZoneInfo("America/New_York"))  # no holidays configured
    assert new_york.add(start, timedelta(hours=2)) == datetime(2026, 12, 25, 16, 0, tzinfo=ZoneInfo("America/New_York"))


def test_wall_clock_counts_everything():
    start = vienna(2026, 3, 28, 12, 0)
    assert WallClock().add(start, timedelta(days=1)) == start + timedelta(days=1)
    assert WallClock().between(start, start - timedelta(hours=1)) == timedelta(0)


def test_a_calendar_without_working_time_fails_loudly():
    never = WorkingTime(zone="UTC", weekdays=frozenset())
    with pytest.raises(ValueError, match="no working time"):
        never.add(datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1))


def test_bad_closing_day():
    with pytest.raises(ValueError, match="2026-13-01"):
        parse_closed_days(["2026-13-01"])
