"""Date and time helpers offered to models. Datetimes are timezone-aware UTC, as everywhere else."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from bpmn.expressions.limits import EvalFailure

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_MAX_ISO_LEN = 64  # no ISO date, datetime or duration is longer; refuse megabyte inputs early


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in UTC."""
    return now().date()


def make_date(year: int, month: int, day: int) -> date:
    """`date(y, m, d)`."""
    return date(year, month, day)


def make_datetime(  # noqa: PLR0917 -- positional like the datetime() it stands for
    year: int, month: int, day: int, h: int = 0, mi: int = 0, s: int = 0
) -> datetime:
    """`datetime(y, m, d, h=0, mi=0, s=0)`, timezone-aware UTC."""
    return datetime(year, month, day, h, mi, s, tzinfo=UTC)


def make_timedelta(*, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0,
                   weeks: float = 0) -> timedelta:
    """`timedelta(days=, hours=, minutes=, seconds=, weeks=)`."""
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds, weeks=weeks)


def _iso_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise EvalFailure(f"{what} expects ISO 8601 text, not {type(text).__name__}")
    if len(text) > _MAX_ISO_LEN:
        raise EvalFailure(f"{what}: text too long to be ISO 8601")
    return text.strip()


def parse_datetime(text: str) -> datetime:
    """ISO 8601 text -> aware UTC datetime; text without an offset is taken as UTC."""
    value = datetime.fromisoformat(_iso_text(text, "parse_datetime"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date(text: str) -> date:
    """ISO 8601 date text (`2024-05-31`) -> date."""
    return date.fromisoformat(_iso_text(text, "parse_date"))


def format_datetime(value: date | datetime) -> str:
    """A date or datetime as ISO 8601 text; a naive datetime is taken as UTC."""
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise EvalFailure(f"format_datetime expects a date or datetime, not {type(value).__name__}")


def _coerce(value: object, what: str) -> date | datetime:
    """A date/datetime given as such or as ISO text (with a time part it is a datetime)."""
    if isinstance(value, date):  # datetime is a subclass of date
        return value
    text = _iso_text(value, what)
    return parse_datetime(text) if len(text) > 10 else parse_date(text)


def add_days(value: date | datetime | str, days: float) -> date | datetime | str:
    """`value` plus `days` days; ISO text in gives ISO text out, a date/datetime gives the same type."""
    result = _coerce(value, "add_days") + timedelta(days=days)
    return format_datetime(result) if isinstance(value, str) else result


def days_between(start: date | datetime | str, end: date | datetime | str) -> int:
    """Whole days from `start` to `end` (negative when `end` is earlier); dates compare as dates."""
    first, last = _coerce(start, "days_between"), _coerce(end, "days_between")
    if not isinstance(first, datetime) or not isinstance(last, datetime):
        first = first.date() if isinstance(first, datetime) else first
        last = last.date() if isinstance(last, datetime) else last
    return (last - first).days


def duration(text: str) -> timedelta:
    """An ISO 8601 duration (`PT5M`, `P1DT2H`, `P2W`) as a timedelta.

    Years and months are refused: they have no fixed length, so a timedelta would be wrong.
    """
    source = _iso_text(text, "duration").upper()
    match = _DURATION.fullmatch(source)
    if match is None or source.lstrip("-") in ("P", "PT") or source.endswith("T"):
        raise EvalFailure(f"invalid ISO 8601 duration {text!r} (years and months are not supported)")
    parts = {name: float(amount) for name, amount in match.groupdict().items() if amount and name != "sign"}
    result = timedelta(**parts)
    return -result if match.group("sign") else result
