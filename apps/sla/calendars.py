"""Time arithmetic for SLA clocks: wall time, and business time on a working calendar.

`WorkingTime` is a plain value (no database): working weekdays, daily hours in a named time zone
(zoneinfo), and the public holidays of the `holidays` package plus extra closing days. Working
windows are built from *local* wall-clock times (08:00-17:00 Vienna time), so the daylight-saving
change moves them correctly in UTC; lengths are measured in UTC, so a window that spans a change
counts the hours that really pass. A business day (`P1D`) is one working day's length.

`add(start, duration)` and `between(start, end)` are the only two operations the clocks need:
a due date is `add(started_at, target)`; pausing pushes it to `add(resumed_at, between(paused_at, due_at))`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

# No calendar in use has a year without working time; past this many days the calendar is broken.
MAX_SCAN_DAYS = 366 * 12


class Clock(Protocol):
    """Adds durations to instants and measures durations between them, in some notion of time."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of counted time after `start` (aware UTC)."""
        ...

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Counted time from `start` to `end` (zero when `end` is not after `start`)."""
        ...


class WallClock:
    """Every second counts."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """`start + duration` in UTC."""
        return (start + duration).astimezone(UTC)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """`end - start` (in UTC, so a DST change counts), never negative."""
        return max(end.astimezone(UTC) - start.astimezone(UTC), timedelta(0))


@functools.lru_cache(maxsize=64)
def public_holidays(country: str, subdivision: str) -> holidays.HolidayBase:
    """The `holidays` package's calendar for a country (and subdivision); it fills years on demand."""
    return holidays.country_holidays(country, subdiv=subdivision or None)


@dataclass(frozen=True)
class WorkingTime:
    """Business time: working `weekdays` (0 = Monday) from `start` to `end` local time in `zone`."""

    zone: str
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: time = time(8, 0)
    end: time = time(17, 0)
    country: str = ""
    subdivision: str = ""
    closed_days: frozenset[date] = field(default_factory=frozenset)

    @property
    def day_length(self) -> timedelta:
        """Length of one working day on the wall clock (what `P1D` means in business time)."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def is_working_day(self, day: date) -> bool:
        """A working weekday that is neither a public holiday nor a closing day."""
        if day.weekday() not in self.weekdays or day in self.closed_days:
            return False
        return not (self.country and day in public_holidays(self.country, self.subdivision))

    def windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (UTC start, UTC end) from the local day of `since` onward."""
        tz = ZoneInfo(self.zone)
        day = since.astimezone(tz).date()
        for _ in range(MAX_SCAN_DAYS):
            if self.is_working_day(day):
                opens = datetime.combine(day, self.start, tzinfo=tz).astimezone(UTC)
                closes = datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC)
                if closes > opens:
                    yield opens, closes
            day += timedelta(days=1)
        raise ValueError(f"no working time within {MAX_SCAN_DAYS} days: check the calendar's days and hours")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of working time after `start` has passed (aware UTC).

        Work that starts outside working hours starts counting at the next window's opening.
        """
        remaining = duration
        cursor = start.astimezone(UTC)
        for opens, closes in self.windows(cursor):
            if closes <= cursor:
                continue
            begin = max(cursor, opens)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            cursor = closes
        raise AssertionError("unreachable: windows() raises when it runs out")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (zero when `end` is not after `start`)."""
        total = timedelta(0)
        # In UTC: Python subtracts two datetimes of the *same* zone on the wall clock, ignoring DST.
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return total
        for opens, closes in self.windows(start):
            if opens >= end:
                break
            begin, finish = max(start, opens), min(end, closes)
            if finish > begin:
                total += finish - begin
        return total

    def scale(self, duration: timedelta) -> timedelta:
        """A model duration as working time: whole days become working days, the rest stays as is."""
        return self.day_length * duration.days + timedelta(seconds=duration.seconds,
                                                           microseconds=duration.microseconds)


def parse_closed_days(values: list[str]) -> frozenset[date]:
    """Closing days from `YYYY-MM-DD` strings; `ValueError` naming the bad one."""
    days = set()
    for value in values:
        try:
            days.add(date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
    return frozenset(days)
