"""`regulator.submit_report` through zeep, and the later `report_acknowledged` message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.instances.models import InstanceStatus, ProcessInstance
from apps.integrations.contract import ConnectorError
from apps.integrations.files.connector import FilesConnector
from apps.integrations.regulator.connector import RegulatorConnector
from tests.apps.sandbox import kit
from tests.apps.sandbox.kit import Sandbox, context, wait_until
from tests.apps.sandbox.models import waits_for

pytestmark = pytest.mark.django_db(transaction=True)
systems = kit.systems  # the fixture: the sandbox on the live server


def acknowledged(start: Callable[..., ProcessInstance], submission_id: str) -> ProcessInstance:
    """Start an instance waiting for the submission's acknowledgement and wait until it arrives.

    The instance starts *after* the submission: the sandbox retries while nobody waits yet.
    """
    instance = start(waits_for("report_acknowledged", "submission_id"), submission_id=submission_id)

    def completed() -> bool:
        instance.refresh_from_db()
        return instance.status == InstanceStatus.COMPLETED

    wait_until(completed, what="report_acknowledged delivery")
    return instance


def extract(period: str = "2026-10") -> dict[str, str]:
    written = FilesConnector().call("write_extract", {"period": period, "kind": "usage", "format": "csv"},
                                    context("files.write_extract"))
    return {"path": written["path"], "sha256": written["sha256"]}


def test_a_submission_is_received_then_accepted(systems: Sandbox, start: Callable[..., ProcessInstance]) -> None:
    report = {"report_id": "R-2026-10", "period": "2026-10", "files": [extract()]}
    regulator = RegulatorConnector()

    received = regulator.call("submit_report", report, context("regulator.submit_report"))

    assert received["status"] == "received" and received["submission_id"].startswith("sub_")
    assert regulator.call("submit_report", report, context("regulator.submit_report")) == received
    instance = acknowledged(start, received["submission_id"])
    assert instance.variables["status"] == "accepted"
    assert "reason" not in instance.variables


def test_the_rejection_rate_and_a_wrong_checksum_reject(
    systems: Sandbox, start: Callable[..., ProcessInstance]
) -> None:
    regulator = RegulatorConnector()
    wrong = {**extract(), "sha256": "0" * 64}
    bad = regulator.call("submit_report", {"report_id": "R-1", "period": "2026-10", "files": [wrong]},
                         context("regulator.submit_report"))
    assert acknowledged(start, bad["submission_id"]).variables["reason"] == "checksum_mismatch"

    systems.knobs("regulator", rejection_rate=1.0)
    unlucky = regulator.call("submit_report", {"report_id": "R-2", "period": "2026-10", "files": [extract()]},
                             context("regulator.submit_report"))
    instance = acknowledged(start, unlucky["submission_id"])
    assert (instance.variables["status"], instance.variables["reason"]) == ("rejected", "validation_failed")


def test_regulator_down_is_a_retryable_fault(systems: Sandbox) -> None:
    systems.knobs("regulator", failure_rate=1.0)
    with pytest.raises(ConnectorError) as down:
        RegulatorConnector().call("submit_report", {"report_id": "R-3", "period": "2026-10", "files": []},
                                  context("regulator.submit_report"))
    assert down.value.retryable is True
