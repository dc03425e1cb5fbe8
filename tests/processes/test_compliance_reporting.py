"""Scenario tests of processes/compliance_reporting, engine only: every gateway branch, boundary and timer path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bpmn import CommandRejected, StartTrigger, validate
from bpmn.timers import next_start_time
from tests.processes.scenario import ENGINE, OPERATIONS, Scenario, covered, flow_node_ids, source_of

PROCESS = "compliance_reporting"
SHA_USAGE = "a" * 64
SHA_BILLING = "b" * 64


def expected_period() -> str:
    """The calendar month before today (UTC), as the model computes it."""
    first = datetime.now(UTC).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def extract(kind: str, *, rows: int, sha256: str | None = None, period: str | None = None) -> dict[str, Any]:
    suffix = "csv" if kind == "usage" else "xml"
    return {"path": f"/var/patchbay/drop/{kind}-{period or expected_period()}.{suffix}", "rows": rows,
            "sha256": sha256 if sha256 is not None else (SHA_USAGE if kind == "usage" else SHA_BILLING)}


def monthly_run() -> Scenario:
    """An instance started by the monthly timer start event, as the start-timer sweep starts it."""
    run = Scenario(PROCESS, trigger=StartTrigger("timer", activity_id="monthly_schedule"))
    # A cycle start event completes after the token it produced has moved on (engine order).
    assert {"monthly_schedule", "determine_period"} <= set(run.completed)
    assert run.variables["period"] == expected_period()
    assert run.variables["report_id"] == f"RPT-{expected_period()}"
    return run


def extracted(run: Scenario, *, usage_rows: int = 180, billing_rows: int = 60,
              usage_sha: str | None = None) -> Scenario:
    usage, billing = run.call("write_usage_extract"), run.call("write_billing_extract")
    period = run.variables["period"]
    assert (usage.operation, usage.parameters) == ("files.write_extract",
                                                   {"period": period, "kind": "usage", "format": "csv"})
    assert (billing.operation, billing.parameters) == ("files.write_extract",
                                                       {"period": period, "kind": "billing", "format": "xml"})
    run.resume("write_billing_extract", extract("billing", rows=billing_rows))
    return run.resume("write_usage_extract", extract("usage", rows=usage_rows, sha256=usage_sha))


def approved(run: Scenario) -> Scenario:
    item = run.items["approve_report"]
    assert item.lane == "compliance_officer"
    assert (item.properties["slaTarget"], item.properties["slaCalendar"]) == ("P2D", "business")
    return run.complete("approve_report", {"approval_decision": "approve"})


def submitted(run: Scenario, number: int) -> Scenario:
    call = run.call("submit_report")
    period = run.variables["period"]
    assert (call.operation, call.parameters) == ("regulator.submit_report", {
        "report_id": f"RPT-{period}-{number}", "period": period,
        "files": [{"path": extract("usage", rows=0)["path"], "sha256": SHA_USAGE},
                  {"path": extract("billing", rows=0)["path"], "sha256": SHA_BILLING}]})
    run.resume("submit_report", {"submission_id": f"sub-{number}", "status": "received"})
    assert run.subscriptions() == {"report_acknowledged": {"submission_id": f"sub-{number}"}}
    return run


def acknowledged(run: Scenario, number: int, status: str) -> Scenario:
    variables = {"submission_id": f"sub-{number}", "status": status}
    if status == "rejected":
        variables["reason"] = "validation_failed"
    return run.deliver("report_acknowledged", {"submission_id": f"sub-{number}"}, variables)


def archived(run: Scenario) -> Scenario:
    call = run.call("archive_report")
    assert (call.operation, call.parameters) == ("files.archive", {
        "paths": [extract("usage", rows=0)["path"], extract("billing", rows=0)["path"]],
        "report_id": run.variables["report_id"]})
    run.resume("archive_report", {"archive_path": "/var/patchbay/archive/r.zip", "sha256": "c" * 64})
    assert run.status == "completed"
    assert run.variables["report_status"] == "archived"
    assert run.variables["archive_sha256"] == "c" * 64
    assert run.completed[-1] == "report_archived_end"
    return run


# --- scenarios -----------------------------------------------------------------------------------


def scenario_monthly_report_is_submitted_accepted_and_archived() -> Scenario:
    run = extracted(monthly_run())
    assert run.variables["dq_passed"] is True and run.variables["dq_issues"] == []
    submitted(approved(run), 1)
    with pytest.raises(CommandRejected):  # another submission's acknowledgement never lands here
        acknowledged(run, 9, "accepted")
    return archived(acknowledged(run, 1, "accepted"))


def scenario_failed_checks_are_fixed_and_extracted_again() -> Scenario:
    run = extracted(monthly_run(), usage_rows=0, usage_sha="")
    assert run.variables["dq_passed"] is False
    assert len(run.variables["dq_issues"]) == 3  # no rows, no checksum, more invoices than usage
    item = run.items["resolve_data_quality"]
    assert item.lane == "data_quality"
    run.complete("resolve_data_quality", {"dq_resolution": "fixed", "dq_note": "usage feed re-run by billing IT"})
    assert {"write_usage_extract", "write_billing_extract"} <= set(run.active)
    extracted(run)  # the new extracts replace the old ones in both branches
    assert run.variables["dq_passed"] is True
    assert run.variables["usage_extract"]["rows"] == 180
    assert "approve_report" in run.items
    return run


def scenario_failed_checks_are_overridden() -> Scenario:
    run = extracted(monthly_run(), usage_rows=50, billing_rows=60)
    assert run.variables["dq_issues"] == ["more invoices than usage records: the extracts do not match"]
    run.complete("resolve_data_quality", {"dq_resolution": "override", "dq_note": "usage of Q-end is late; known"})
    assert "approve_report" in run.items
    return run


def scenario_officer_sends_the_report_back_to_data_quality() -> Scenario:
    run = extracted(monthly_run())
    run.complete("approve_report", {"approval_decision": "send_back", "approval_comment": "totals look low"})
    assert "resolve_data_quality" in run.items
    run.complete("resolve_data_quality", {"dq_resolution": "override", "dq_note": "checked: totals are right"})
    submitted(approved(run), 1)
    return run


def scenario_rejected_submission_is_resubmitted_then_accepted() -> Scenario:
    run = submitted(approved(extracted(monthly_run())), 1)
    acknowledged(run, 1, "rejected")
    assert run.variables["submission_attempts"] == 2  # the second attempt is under way
    submitted(run, 2)  # a new report id: the regulator keeps one submission per report id
    # The second acknowledgement decides, not the first one's "rejected".
    return archived(acknowledged(run, 2, "accepted"))


def scenario_attempts_exhausted_then_officer_resubmits() -> Scenario:
    run = approved(extracted(monthly_run()))
    for number in (1, 2, 3):
        acknowledged(submitted(run, number), number, "rejected")
    item = run.items["handle_submission_failure"]
    assert item.lane == "compliance_officer"
    run.complete("handle_submission_failure", {"failure_decision": "resubmit",
                                               "failure_note": "regulator fixed their validator"})
    assert run.variables["submission_attempts"] == 1  # a fresh round of attempts has begun
    submitted(run, 4)
    return archived(acknowledged(run, 4, "accepted"))


def scenario_missing_acknowledgement_escalates_and_is_abandoned() -> Scenario:
    run = submitted(approved(extracted(monthly_run())), 1)
    run.wait(timedelta(days=4, hours=23))
    assert "handle_submission_failure" not in run.items
    run.wait(timedelta(hours=2))
    assert "acknowledgement_overdue" in run.completed
    run.complete("handle_submission_failure", {"failure_decision": "abandon",
                                               "failure_note": "filed on paper, ticket REG-12"})
    assert run.status == "completed"
    assert run.variables["report_status"] == "abandoned"
    assert run.completed[-1] == "report_abandoned_end"
    return run


SCENARIOS: list[Callable[[], Scenario]] = [
    scenario_monthly_report_is_submitted_accepted_and_archived,
    scenario_failed_checks_are_fixed_and_extracted_again,
    scenario_failed_checks_are_overridden,
    scenario_officer_sends_the_report_back_to_data_quality,
    scenario_rejected_submission_is_resubmitted_then_accepted,
    scenario_attempts_exhausted_then_officer_resubmits,
    scenario_missing_acknowledgement_escalates_and_is_abandoned,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.removeprefix("scenario_"))
def test_scenario(scenario: Callable[[], Scenario]) -> None:
    scenario()


def test_started_by_hand_it_runs_at_once_for_the_previous_month() -> None:
    run = Scenario(PROCESS)
    # A cycle start event completes after the token it produced has moved on (engine order).
    assert {"monthly_schedule", "determine_period"} <= set(run.completed)
    assert run.variables["period"] == expected_period()
    assert {"write_usage_extract", "write_billing_extract"} <= set(run.active)


def test_the_monthly_timer_start_event_is_scheduled_on_the_first_of_each_month() -> None:
    [start] = ENGINE.start_events(source_of(PROCESS))
    assert (start.activity_id, start.kind, start.timer_kind, start.timer_text) == (
        "monthly_schedule", "timer", "cycle", "R/2026-01-01T06:00:00Z/P1M")
    anchor = datetime(2026, 3, 15, tzinfo=UTC)
    assert next_start_time(start.timer_text or "", "cycle", anchor=anchor, after=anchor) == \
        datetime(2026, 4, 1, 6, tzinfo=UTC)


def test_the_period_is_the_month_before_the_run() -> None:
    assert date.fromisoformat(expected_period() + "-01") < datetime.now(UTC).date().replace(day=1)


def test_the_model_validates_with_the_contract_operations() -> None:
    report = validate(source_of(PROCESS), operations=OPERATIONS)
    assert report.ok, [p.as_dict() for p in report.problems]
    assert report.problems == ()
    assert report.process_key == PROCESS


def test_scenarios_cover_every_flow_node_of_the_diagram() -> None:
    nodes = flow_node_ids(PROCESS)
    done = covered(scenario() for scenario in SCENARIOS)
    assert nodes - done == set(), f"never completed by any scenario: {sorted(nodes - done)}"
    assert len(nodes) >= 30


def test_a_run_by_hand_reports_on_the_period_it_was_given() -> None:
    result = ENGINE.start(source_of("compliance_reporting"), variables={"period": "2026-09"})

    assert result.variables["period"] == "2026-09"
    assert result.variables["report_id"].startswith("RPT-2026-09")
