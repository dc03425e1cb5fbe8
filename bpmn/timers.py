"""Timer texts: ISO 8601 literals as well as expressions.

SpiffWorkflow evaluates every `timeDuration`/`timeDate`/`timeCycle` text as an expression and then
parses the *value* as ISO 8601 (`SpiffWorkflow/bpmn/specs/event_definitions/timer.py`). Analysts write
`PT4H`, which as an expression is an unknown name. So the parser rewrites ISO literals into quoted
string literals before SpiffWorkflow sees them, and leaves anything else as an expression.

The literal grammar here is deliberately a subset of what SpiffWorkflow's own ISO code parses: every
text accepted here parses there (tests call SpiffWorkflow on each accepted literal), while spellings
that code would misread (naive local date-times, lower case designators, fractions before the last
component, `start/end` intervals) are rejected here with a clear message at upload.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import datetime, timedelta
from typing import Literal

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from bpmn.expressions import check_expression, evaluate

TimerKind = Literal["duration", "date", "cycle"]

# PnYnMnWnDTnHnMnS, designators in order, at least one component, `T` only before a time part.
_DURATION = re.compile(
    r"P(?=[\d.,]+[YMWD]|T[\d.,]+[HMS])"
    r"(?:[\d.,]+Y)?(?:[\d.,]+M)?(?:[\d.,]+W)?(?:[\d.,]+D)?"
    r"(?:T(?=[\d.,]+[HMS])(?:[\d.,]+H)?(?:[\d.,]+M)?(?:[\d.,]+S)?)?"
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Extended-format date-time with seconds optional, fraction optional, and a mandatory offset:
# a naive time would be read in the server's local zone, which is never what an analyst means.
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})"
)
_CYCLE = re.compile(r"R(\d*)/([^/]+)(?:/([^/]+))?")
# Texts that are plainly meant as a literal (so a failed literal is reported as such, not accepted
# as an expression naming a variable `PT4X` or dividing `R3` by `PT10M`).
_LOOKS_LITERAL = re.compile(r"(?:P(?:T?[\d.,]+[A-Z])+|R\d*/.*|\d{4}-\d{2}.*)", re.IGNORECASE | re.DOTALL)
_QUOTED = re.compile(r"""(['"])([^'"\\]*)\1""")

_KIND_HINT = {
    "duration": "an ISO 8601 duration such as PT4H or P1DT2H",
    "date": "an ISO 8601 date-time with an offset such as 2026-12-01T09:00:00Z",
    "cycle": "an ISO 8601 repeating interval such as R3/PT10M or R/2026-12-01T09:00:00Z/P1D",
}


def is_iso_duration(text: str) -> bool:
    """True if `text` is an ISO 8601 duration (`PT4H`, `P1DT2H`, `P2W`, `PT0.5S`)."""
    if not _DURATION.fullmatch(text):
        return False
    numbers = _NUMBER.findall(text)
    # Only the last component may carry a fraction, and every component must be a well-formed number
    # (the grammar above lets `1.2.3` through); SpiffWorkflow rejects anything else.
    if "".join(numbers) != re.sub(r"[^\d.,]", "", text):
        return False
    if any(not n.isdigit() for n in numbers[:-1]):
        return False
    # Weeks combine with nothing but a time part (SpiffWorkflow rejects P1W2D).
    date_part = text.split("T", 1)[0]
    return not ("W" in date_part and re.search(r"[YMD]", date_part[1:]) is not None)


def is_iso_datetime(text: str) -> bool:
    """True if `text` is an ISO 8601 date-time with `Z` or an explicit offset."""
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:  # e.g. month 13 or hour 25: the shape is right, the calendar is not
        return False
    return True


def is_iso_cycle(text: str) -> bool:
    """True if `text` is a repeating interval: `R[n]/duration`, `R[n]/start/duration`, `R[n]/duration/end`."""
    match = _CYCLE.fullmatch(text)
    if not match:
        return False
    _, first, second = match.groups()
    if second is None:
        return is_iso_duration(first)
    return (is_iso_datetime(first) and is_iso_duration(second)) or (
        is_iso_duration(first) and is_iso_datetime(second)
    )


def is_iso8601_literal(text: str) -> bool:
    """True if `text` (surrounding blanks ignored) is an ISO 8601 duration, date-time or cycle literal."""
    text = text.strip()
    return is_iso_duration(text) or is_iso_datetime(text) or is_iso_cycle(text)


def _matches_kind(text: str, kind: TimerKind) -> bool:
    checks = {"duration": is_iso_duration, "date": is_iso_datetime, "cycle": is_iso_cycle}
    return checks[kind](text)


def check_timer_text(text: str, kind: TimerKind) -> list[tuple[str, int | None]]:
    """Problems of one timer text (empty list = accepted); nothing is evaluated.

    Accepted: an ISO 8601 literal of the right kind, a quoted string holding one, or an expression
    that the restricted expression language accepts (its value is checked when the timer starts).
    """
    stripped = (text or "").strip()
    if not stripped:
        return [(f"the timer is empty; expected {_KIND_HINT[kind]} or an expression", None)]
    literal = _literal_problem(stripped, kind)
    return check_expression(stripped) if literal is None else literal


def _literal_problem(text: str, kind: TimerKind) -> list[tuple[str, int | None]] | None:
    """Problems of `text` as a literal, or None if it is not meant as one (it is an expression)."""
    if is_iso8601_literal(text):
        wrong = f"'{text}' is an ISO 8601 literal of the wrong kind; expected {_KIND_HINT[kind]}"
        return [] if _matches_kind(text, kind) else [(wrong, None)]
    quoted = _QUOTED.fullmatch(text)
    if quoted is not None:
        inner = quoted.group(2).strip()
        return [] if _matches_kind(inner, kind) else [(f"{text} is not {_KIND_HINT[kind]}", None)]
    if _LOOKS_LITERAL.fullmatch(text):
        return [(f"'{text}' is not {_KIND_HINT[kind]}", None)]
    return None


def to_spiff_expression(text: str) -> str:
    """What the parser writes into the tree: a quoted literal for ISO 8601 text, the text otherwise."""
    stripped = (text or "").strip()
    if is_iso8601_literal(stripped):
        return repr(stripped)
    return text


# -- start timer schedules -----------------------------------------------------------------------

_MAX_OCCURRENCES_SCANNED = 100_000


def start_timer_value(text: str) -> str:
    """The ISO text of a start timer: the literal itself, or an expression evaluated without data."""
    stripped = (text or "").strip()
    if is_iso8601_literal(stripped):
        return stripped
    value = evaluate(stripped, {})
    if not isinstance(value, str) or not is_iso8601_literal(value.strip()):
        raise ValueError(f"timer {text!r} did not give an ISO 8601 text (got {value!r})")
    return value.strip()


def next_start_time(text: str, kind: TimerKind, *, anchor: datetime, after: datetime) -> datetime | None:
    """The first occurrence of a timer start event strictly after `after`, or None when it is spent.

    `anchor` is when the schedule began (the definition's deployment): a duration fires once at
    `anchor + duration`, a date once at that date, a cycle `R[n]/[start/]period` every period from
    its start (default `anchor + period`), n times or forever.
    """
    value = start_timer_value(text)
    if kind == "date":
        at: datetime = TimerEventDefinition.get_datetime(value)
        return at if at > after else None
    if kind == "duration":
        once: datetime = anchor + TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(value), anchor)
        return once if once > after else None
    return _next_cycle_time(value, anchor=anchor, after=after)


def _next_cycle_time(value: str, *, anchor: datetime, after: datetime) -> datetime | None:
    match = _CYCLE.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a repeating interval")
    count = int(match.group(1)) if match.group(1) else -1
    first, second = match.group(2), match.group(3)
    if second is None:
        period = TimerEventDefinition.parse_iso_duration(first)
        start = _add_period(anchor, period, 1)
    else:
        period = TimerEventDefinition.parse_iso_duration(second)
        start = TimerEventDefinition.get_datetime(first)
    for index in range(_MAX_OCCURRENCES_SCANNED):
        if index == count:
            return None
        at = _add_period(start, period, index)
        if at > after:
            return at
    return None


def _add_period(start: datetime, period: dict[str, float], times: int) -> datetime:
    """`start` plus `times` periods, months counted on the calendar from `start` (Jan 31 + P1M = Feb 28).

    Each occurrence is computed from the series start, not from the previous one, so month ends do
    not drift (Jan 31, Feb 28, Mar 31 ...) as they would by adding month lengths one at a time.
    """
    months = int(period.get("years", 0) * 12 + period.get("months", 0)) * times
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, monthrange(year, month + 1)[1])
    shifted = start.replace(year=year, month=month + 1, day=day)
    rest = timedelta(weeks=period.get("weeks", 0), days=period.get("days", 0), hours=period.get("hours", 0),
                     minutes=period.get("minutes", 0), seconds=period.get("seconds", 0))
    return shifted + rest * times
