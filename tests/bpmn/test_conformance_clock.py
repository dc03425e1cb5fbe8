"""The betsy trace reports the checks betsy's checker makes, and only for the cases that assert them."""

from __future__ import annotations

from datetime import datetime, timedelta

from bpmn.conformance.clock import Trace

T0 = datetime(2026, 1, 1)


def test_marker_file_is_reported_only_to_a_case_that_asserts_it() -> None:
    trace = Trace(tokens={}, logged=["SCRIPT_task1"], marker_file=True)
    assert trace.entries(["SCRIPT_task1"]) == ["SCRIPT_task1"]
    assert trace.entries(["SCRIPT_task1", "MARKER_exists"]) == ["SCRIPT_task1", "MARKER_exists"]


def test_a_missing_marker_file_is_not_reported_even_when_asserted() -> None:
    trace = Trace(tokens={}, logged=["SCRIPT_task1"])
    assert trace.entries(["SCRIPT_task1", "MARKER_exists"]) == ["SCRIPT_task1"]


def test_overlapping_timestamp_logs_are_reported_only_when_parallelism_is_asserted() -> None:
    ten = timedelta(seconds=10)
    trace = Trace(tokens={}, timestamps={"CREATE_TIMESTAMP_LOG_1": (T0, T0 + ten),
                                         "CREATE_TIMESTAMP_LOG_2": (T0 + ten / 2, T0 + ten * 1.5)})
    assert trace.entries([]) == []
    assert trace.entries(["EXECUTION_parallel"]) == ["EXECUTION_parallel"]


def test_data_check_is_reported_once_and_only_when_asserted() -> None:
    trace = Trace(tokens={}, data_correct=True)
    assert trace.entries(["DATA_correct"]) == ["DATA_correct"]
    assert trace.entries(["SCRIPT_task1"]) == []


def test_error_markers_are_always_reported() -> None:
    trace = Trace(tokens={}, logged=["SCRIPT_task1"], marker_file=True)
    trace.mark("ERROR_runtime")
    assert trace.entries([]) == ["SCRIPT_task1", "ERROR_runtime"]
