"""Timer texts: which ISO 8601 literals are recognised, and that SpiffWorkflow can parse each of them."""

from __future__ import annotations

from datetime import datetime

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from bpmn.timers import check_timer_text, is_iso8601_literal, to_spiff_expression

DURATIONS = ["PT4H", "P1DT2H", "P2W", "PT0.5S", "P1Y2M10DT2H30M", "PT36H", "P3D", "PT1M", "PT1,5S",
             "P1M", "P2WT1H", "PT1H0.5M"]
DATES = ["2026-12-01T09:00:00+01:00", "2026-12-01T09:00:00Z", "2026-12-01T09:00Z",
         "2026-12-01T09:00:00.250-05:00"]
CYCLES = ["R3/PT10M", "R/P1M", "R/2026-12-01T09:00:00Z/P1D", "R5/2026-01-01T00:00:00Z/PT1H",
          "R2/PT1H/2026-12-01T09:00:00Z", "R/PT0.5S"]
NOT_LITERALS = [
    "PT4X", "P", "PT", "P1DT", "P1.5DT1H", "P1W2D", "PT1.2.3S", "4H", "pt4h",
    "2026-12-01T09:00:00",  # naive: would be read in the server's local zone
    "2026-12-01", "2026-13-01T09:00:00Z", "2026-12-01T25:00:00Z", "R/PT1H/PT2H",
    "R/2026-12-01T09:00:00Z/2026-12-02T09:00:00Z", "R3/P", "R3", "R3//PT1H", "",
    "timeout", "'PT4H'", "PT4H PT4H",
]


@pytest.mark.parametrize("text", DURATIONS)
def test_durations_are_literals_spiffworkflow_parses(text):
    assert is_iso8601_literal(text)
    assert check_timer_text(text, "duration") == []
    parsed = TimerEventDefinition.parse_iso_duration(text)
    assert TimerEventDefinition.get_timedelta_from_start(parsed).total_seconds() > 0


@pytest.mark.parametrize("text", DATES)
def test_dates_are_literals_spiffworkflow_parses(text):
    assert is_iso8601_literal(text)
    assert check_timer_text(text, "date") == []
    assert isinstance(TimerEventDefinition.parse_time_or_duration(text), datetime)


@pytest.mark.parametrize("text", CYCLES)
def test_cycles_are_literals_spiffworkflow_parses(text):
    assert is_iso8601_literal(text)
    assert check_timer_text(text, "cycle") == []
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(text)
    assert isinstance(start, datetime)
    assert duration.total_seconds() > 0
    assert cycles == (-1 if text.startswith("R/") else int(text[1:].split("/")[0]))


@pytest.mark.parametrize("text", NOT_LITERALS)
def test_not_literals(text):
    assert not is_iso8601_literal(text)


@pytest.mark.parametrize(("text", "kind"), [
    ("PT4H", "date"), ("PT4H", "cycle"), ("2026-12-01T09:00:00Z", "duration"), ("R3/PT10M", "duration"),
])
def test_literal_of_the_wrong_kind_is_a_problem(text, kind):
    [(message, _)] = check_timer_text(text, kind)
    assert "wrong kind" in message


@pytest.mark.parametrize(("text", "kind"), [
    ("PT4X", "duration"), ("P1W2D", "duration"), ("pt4h", "duration"), ("R3/PT10X", "cycle"),
    ("2026-12-01T09:00:00", "date"), ("2026-12-01", "date"), ("'PT4X'", "duration"), ('"PT4H"', "date"),
])
def test_broken_literals_are_problems_not_expressions(text, kind):
    # `PT4X` would be a valid *name*, and `R3/PT10X` a valid division: neither is what was meant.
    assert check_timer_text(text, kind)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_timer_is_a_problem(text):
    [(message, line)] = check_timer_text(text, "duration")
    assert "empty" in message
    assert line is None


def test_quoted_literal_is_accepted():
    assert check_timer_text('"PT4H"', "duration") == []
    assert check_timer_text("'2026-12-01T09:00:00Z'", "date") == []


def test_expressions_go_to_the_expression_checker():
    assert check_timer_text("reminder_delay", "duration") == []
    assert check_timer_text("pt1_delay", "duration") == []  # a variable, not a broken literal
    assert check_timer_text("__import__('os')", "duration")


def test_to_spiff_expression_quotes_literals_only():
    assert to_spiff_expression("PT4H") == "'PT4H'"
    assert to_spiff_expression("  R/P1M\n") == "'R/P1M'"
    assert to_spiff_expression("reminder_delay") == "reminder_delay"
    assert to_spiff_expression("PT4X") == "PT4X"
