"""`harvest.census` reads in one walk exactly what the per-question readers of `bpmn.harvest` read.

Every state an instance passes through is compared against the readers, with the observation taken
in the state before it: parallel branches, sub-processes, service calls answered, failed, withdrawn
by a boundary event or a cancel, and an instance failed by an uncaught error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from bpmn import Engine, harvest
from bpmn.types import ModelSource
from tests.bpmn.xml import chain, echo_task, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
ERROR = '<bpmn:error id="declined" name="declined" errorCode="declined"/>\n'


PARALLEL = model(f"""
{START}
<bpmn:parallelGateway id="split"/>
<bpmn:userTask id="check_credit"/>
<bpmn:manualTask id="pack"/>
{echo_task("reserve")}
<bpmn:parallelGateway id="join"/>
{END}
{chain("start", "split", "check_credit", "join", "end")}
{chain("split", "pack", "join")}
{chain("split", "reserve", "join")}
""")

SUBPROCESS = model(f"""
{START}
<bpmn:subProcess id="prepare">
  <bpmn:startEvent id="sub_start"/>
  {script("sub_work", "prepared = amount + 1")}
  {echo_task("sub_call")}
  <bpmn:userTask id="sub_review"/>
  <bpmn:endEvent id="sub_end"/>
  {chain("sub_start", "sub_work", "sub_call", "sub_review", "sub_end")}
</bpmn:subProcess>
<bpmn:boundaryEvent id="late" attachedToRef="prepare">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:endEvent id="late_end"/>
{END}
{chain("start", "prepare", "end")}
{chain("late", "late_end")}
""")

CAUGHT = model(f"""
{START}
{echo_task("charge")}
<bpmn:boundaryEvent id="on_decline" attachedToRef="charge">
  <bpmn:errorEventDefinition errorRef="declined"/>
</bpmn:boundaryEvent>
<bpmn:userTask id="call_customer"/>
<bpmn:endEvent id="end_declined"/>
{END}
{chain("start", "charge", "end")}
{chain("on_decline", "call_customer", "end_declined")}
""", extra=ERROR)

UNCAUGHT = model(f"""{START}{script("risky", 'raise_bpmn_error("E9")')}{END}{chain("start", "risky", "end")}""")


OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _readers(workflow: Any, before: harvest.Observation) -> dict[str, Any]:
    """The reference: each question answered on its own walk over the tasks, as a step asked them
    before the census (the stall check as `bpmn.runner` made it)."""
    tasks = harvest.all_tasks(workflow)
    holding = [t for t in tasks if harvest.activity_id(t) or t.state & TaskState.WAITING]
    last = workflow.last_task
    variables = dict(last.data) if last is not None else {}
    for task in tasks:
        if task.state & OPEN and task.data:
            variables.update(task.data)
    active = list(dict.fromkeys(harvest.activity_id(t) for t in tasks if harvest.activity_id(t) and t.state & OPEN))
    work_items = [t for t in tasks if harvest._is_work_item(t)]
    parked = [t for t in tasks if harvest._is_parked_service(t)]
    states = {t.id: t.state for t in tasks}
    kept = TaskState.STARTED | TaskState.COMPLETED
    return {
        "completed": [t.id for t in harvest.completed_since(workflow, before)],
        "variables": list(variables.items()),
        "active": active,
        "work_items_opened": [harvest._work_item(t) for t in work_items if t.id not in before.open_work_items],
        "work_items_closed": sorted(str(i) for i in before.open_work_items - {t.id for t in work_items}),
        "service_calls": [harvest._service_call(t) for t in parked if t.id not in before.started_service_tasks],
        "calls_withdrawn": sorted(str(i) for i in before.started_service_tasks
                                  if not states.get(i, TaskState.CANCELLED) & kept),
        "stalled": not workflow.completed and not any(t.state & OPEN for t in holding),
    }


def _census(workflow: Any, before: harvest.Observation) -> dict[str, Any]:
    found = harvest.census(workflow, before)
    return {
        "completed": [t.id for t in found.completed],
        "variables": list(found.variables.items()),
        "active": found.active,
        "work_items_opened": found.work_items_opened,
        "work_items_closed": found.work_items_closed,
        "service_calls": found.service_calls,
        "calls_withdrawn": found.calls_withdrawn,
        "stalled": found.stalled,
    }


class Walk:
    """Drives one instance and compares the census with the readers after every step."""

    def __init__(self, engine: Engine, source: ModelSource, **variables: Any) -> None:
        self.engine, self.source = engine, source
        self.compiled = engine.specs.get(source)
        self.compared = 0
        self.before = harvest.Observation.empty()
        self.result = engine.start(source, variables={"amount": 5, **variables})
        self.check()

    def step(self, command: str, **kwargs: Any) -> Walk:
        self.before = harvest.Observation.of(self.engine._restore(self.compiled, self.result.snapshot))
        self.result = getattr(self.engine, command)(self.source, self.result.snapshot, **kwargs)
        return self.check()

    def check(self) -> Walk:
        workflow = self.engine._restore(self.compiled, self.result.snapshot)
        assert _census(workflow, self.before) == _readers(workflow, self.before)
        self.compared += 1
        return self


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def test_census_matches_the_readers_through_parallel_work_items_and_a_call(engine: Engine) -> None:
    walk = Walk(engine, PARALLEL)
    opened = {w.activity_id: w.id for w in walk.result.work_items_opened}
    [call] = walk.result.service_calls
    assert set(opened) == {"check_credit", "pack"}
    walk.step("complete_work_item", work_item_id=opened["pack"], variables={"packed": True})
    walk.step("resume_service_task", call_id=call.id, result={"ok": 1})
    walk.step("complete_work_item", work_item_id=opened["check_credit"], variables={"credit": "fine"})
    assert walk.result.status == "completed"


def test_census_matches_the_readers_in_a_sub_process_and_when_a_boundary_timer_withdraws_its_call(
        engine: Engine) -> None:
    walk = Walk(engine, SUBPROCESS)
    call = walk.result.service_calls[0].id
    walk.step("resume_service_task", call_id=call, result=3)
    walk.step("fire_due_timers", now=FAR_FUTURE)
    assert walk.result.status == "completed" and "late" in walk.result.completed_activities

    walk = Walk(engine, SUBPROCESS)
    parked = walk.result.service_calls[0].id
    walk.step("fire_due_timers", now=FAR_FUTURE)
    assert walk.result.calls_withdrawn == [parked]


def test_census_matches_the_readers_when_a_call_fails_into_a_boundary_event_and_on_cancel(engine: Engine) -> None:
    walk = Walk(engine, CAUGHT)
    walk.step("fail_service_task", call_id=walk.result.service_calls[0].id, error_code="declined")
    assert [w.activity_id for w in walk.result.work_items_opened] == ["call_customer"]
    walk.step("cancel")
    assert walk.result.status == "cancelled" and len(walk.result.work_items_closed) == 1

    walk = Walk(engine, CAUGHT)
    parked = walk.result.service_calls[0].id
    walk.step("cancel")
    assert walk.result.calls_withdrawn == [parked]


def test_census_sees_a_failed_instance_as_holding_no_token(engine: Engine) -> None:
    walk = Walk(engine, UNCAUGHT)
    assert walk.result.status == "failed"
    workflow = engine._restore(walk.compiled, walk.result.snapshot)
    assert harvest.census(workflow, harvest.Observation.empty()).active == []
