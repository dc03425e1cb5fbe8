"""Driving a shipped process through the engine alone, as the step pipeline would, for scenario tests.

No database, no connectors: a `Scenario` starts an instance of a process folder under `processes/`,
answers its service calls with results shaped like the operation contract, delivers correlated
messages, fires timers at a chosen moment and completes work items with variables that are first
checked against the work item's JSON Schema form (so the shipped forms stay honest). It keeps every
activity the instance completed, for the per-process coverage assertion.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree

from apps.definitions.packaging import pack_folder
from bpmn import Engine, ModelSource, ServiceCallRequest, StartTrigger, StepResult, WorkItemRequest
from bpmn.human_tasks import human_task_specs

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# The operation contract shared with the connectors (apps/integrations, apps/sandbox).
CONTRACT_OPERATIONS = (
    "crm.upsert_customer", "credit.get_score",
    "billing.create_account", "billing.cancel_account", "billing.post_payment",
    "network.request_provisioning", "network.cancel_provisioning", "network.activate_service",
    "notify.send", "payment.charge", "payment.refund", "files.write_extract", "files.archive",
    "regulator.submit_report",
)
BUILT_IN_OPERATIONS = ("core.echo", "core.fail", "http.request")
OPERATIONS = CONTRACT_OPERATIONS + BUILT_IN_OPERATIONS

ENGINE = Engine(operations=OPERATIONS)
# Element kinds that are flow nodes (what an instance can complete), as opposed to flows and lanes.
FLOW_NODE_TAGS = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "scriptTask", "serviceTask", "userTask", "manualTask", "businessRuleTask", "receiveTask",
    "sendTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway",
})


def source_of(process: str) -> ModelSource:
    """The upload `deploy_processes` makes of `processes/<process>/` (one file, or a deterministic zip)."""
    source = pack_folder(PROCESSES / process)
    assert source is not None, f"processes/{process} holds no .bpmn"
    return source


def flow_node_ids(process: str) -> set[str]:
    """Ids of every task, event and gateway of the process's diagram."""
    tree = etree.parse(str(PROCESSES / process / f"{process}.bpmn"))
    nodes = tree.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in FLOW_NODE_TAGS))
    return {node.get("id") for node in nodes}


def form_schema(process: str, activity_id: str) -> dict[str, Any]:
    """The JSON Schema of a work item's form, read from the process folder."""
    spec = human_task_specs(source_of(process))[activity_id]
    assert spec.form is not None and spec.form.kind == "json_schema", f"{activity_id} has no JSON Schema form"
    return dict(spec.form.schema)


class Scenario:
    """One instance of a shipped process, driven step by step."""

    def __init__(self, process: str, variables: dict[str, Any] | None = None, *,
                 trigger: StartTrigger | None = None, now: datetime | None = None) -> None:
        self.process = process
        self.source = source_of(process)
        self.now = now or datetime.now(UTC)
        self.completed: list[str] = []
        self.calls: dict[str, ServiceCallRequest] = {}
        self.items: dict[str, WorkItemRequest] = {}
        self.result = self._take(ENGINE.start(self.source, variables=variables, trigger=trigger, now=self.now))

    # -- state ---------------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """The instance status after the last step."""
        return self.result.status

    @property
    def variables(self) -> dict[str, Any]:
        """The instance variables after the last step."""
        return self.result.variables

    @property
    def active(self) -> list[str]:
        """Activities holding a token now."""
        return self.result.active_activities

    def _take(self, result: StepResult) -> StepResult:
        self.result = result
        self.completed.extend(result.completed_activities)
        for call in result.service_calls:
            self.calls[call.activity_id] = call
        closed = set(result.work_items_closed)
        self.items = {k: v for k, v in self.items.items() if v.id not in closed}
        for item in result.work_items_opened:
            self.items[item.activity_id] = item
        assert result.status != "failed", f"instance failed: {result.incidents}"
        return result

    # -- commands ------------------------------------------------------------------------------------

    def call(self, activity_id: str) -> ServiceCallRequest:
        """The open service call of `activity_id` (asserting the instance waits on it)."""
        assert activity_id in self.active, f"{activity_id} is not active; active: {self.active}"
        return self.calls[activity_id]

    def resume(self, activity_id: str, result: Any) -> Scenario:
        """Answer the service call of `activity_id` with a contract-shaped `result`."""
        call = self.calls.pop(activity_id)
        assert activity_id in self.active, f"{activity_id} is not active; active: {self.active}"
        self._take(ENGINE.resume_service_task(self.source, self.result.snapshot, call_id=call.id, result=result))
        return self

    def resume_all(self, results: dict[str, Any]) -> Scenario:
        """Answer several calls in the given order."""
        for activity_id, result in results.items():
            self.resume(activity_id, result)
        return self

    def fail(self, activity_id: str, error_code: str) -> Scenario:
        """The call of `activity_id` throws BPMN error `error_code`."""
        call = self.calls.pop(activity_id)
        self._take(ENGINE.fail_service_task(self.source, self.result.snapshot, call_id=call.id,
                                            error_code=error_code))
        return self

    def deliver(self, name: str, correlation: dict[str, Any], variables: dict[str, Any] | None = None) -> Scenario:
        """Deliver message `name` with its correlation values and variables."""
        self._take(ENGINE.deliver_message(self.source, self.result.snapshot, name=name, correlation=correlation,
                                          variables=variables or {}))
        return self

    def wait(self, delta: timedelta) -> Scenario:
        """Let `delta` pass and fire every timer due by then."""
        self.now += delta
        self._take(ENGINE.fire_due_timers(self.source, self.result.snapshot, now=self.now))
        return self

    def complete(self, activity_id: str, variables: dict[str, Any]) -> Scenario:
        """Complete the work item of `activity_id` with form-valid `variables`."""
        item = self.items.get(activity_id)
        assert item is not None, f"no open work item {activity_id}; open: {sorted(self.items)}"
        jsonschema.Draft202012Validator(form_schema(self.process, activity_id),
                                        format_checker=jsonschema.FormatChecker()).validate(variables)
        self._take(ENGINE.complete_work_item(self.source, self.result.snapshot, work_item_id=item.id,
                                             variables=variables))
        return self

    def subscriptions(self) -> dict[str, dict[str, Any]]:
        """Message name -> expected correlation of every waiting subscription."""
        return {s.name: s.correlation for s in self.result.subscriptions}


def covered(scenarios: Iterable[Scenario]) -> set[str]:
    """The union of the activities the scenarios completed."""
    return {activity for scenario in scenarios for activity in scenario.completed}
