"""A non-interrupting boundary event stays armed while its activity runs (BPMN 2.0.2 10.5.6).

Camunda 7/8 and Flowable start another token down the event's path on every trigger (each signal,
each correlated message, each escalation) until the activity completes or is cancelled;
SpiffWorkflow 3.2.0 fired such an event once and then stopped waiting. Interrupting boundary events
still fire once and cancel the activity.

Every step goes through the `Engine` API, so each one restores the instance from the previous
step's snapshot: the event is re-armed across a snapshot dump and load.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bpmn import CommandRejected, Engine, StepResult, snapshot
from bpmn.types import ModelSource
from tests.bpmn.xml import chain, correlated_message, flow, model

SIGNAL = '<bpmn:signal id="poke_signal" name="poke"/>\n'
ON_SIGNAL = '<bpmn:signalEventDefinition signalRef="poke_signal"/>'
ON_MESSAGE = '<bpmn:messageEventDefinition messageRef="poke_message"/>'
ORDER = {"order_id": "ord-1"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _boundary_on_user_task(definition: str, *, interrupting: bool = False, extra: str = SIGNAL,
                           key: str = "nib") -> ModelSource:
    """start -> user task `handle` -> end, with boundary event `poke` on `handle` whose path is
    user task `follow_up` -> `follow_up_end`."""
    return model(f"""<bpmn:startEvent id="start"/><bpmn:userTask id="handle"/><bpmn:endEvent id="end"/>
<bpmn:boundaryEvent id="poke" attachedToRef="handle" cancelActivity="{str(interrupting).lower()}">{definition}
</bpmn:boundaryEvent><bpmn:userTask id="follow_up"/><bpmn:endEvent id="follow_up_end"/>
{chain("start", "handle", "end")}{chain("poke", "follow_up", "follow_up_end")}""", key=key, extra=extra)


SIGNAL_MODEL = _boundary_on_user_task(ON_SIGNAL)
MESSAGE_MODEL = _boundary_on_user_task(ON_MESSAGE, key="nib_message",
                                       extra=correlated_message("nib_message", "poke_message", name="poke"))


class Run:
    """One instance driven through the engine, with its open work items (id -> activity) and every
    activity completed so far, gathered from the step results."""

    def __init__(self, engine: Engine, source: ModelSource, variables: dict[str, Any] | None = None) -> None:
        self.engine, self.source, self.items, self.completed = engine, source, {}, []
        self.step = self.took(engine.start(source, variables=variables))

    def took(self, step: StepResult) -> StepResult:
        """Record a step's result as the instance's latest."""
        self.items.update({w.id: w.activity_id for w in step.work_items_opened})
        for closed in step.work_items_closed:
            self.items.pop(closed, None)
        self.completed.extend(step.completed_activities)
        self.step = step
        return step

    def open(self, activity: str) -> list[str]:
        return [item for item, at in self.items.items() if at == activity]

    def signal(self) -> StepResult:
        return self.took(self.engine.deliver_signal(self.source, self.step.snapshot, name="poke"))

    def message(self) -> StepResult:
        return self.took(self.engine.deliver_message(self.source, self.step.snapshot, name="poke",
                                                      correlation=ORDER))

    def complete(self, activity: str, variables: dict[str, Any] | None = None) -> StepResult:
        for item in self.open(activity):
            self.took(self.engine.complete_work_item(self.source, self.step.snapshot, work_item_id=item,
                                                      variables=variables))
        return self.step


TRIGGERS = {"signal": (SIGNAL_MODEL, Run.signal), "message": (MESSAGE_MODEL, Run.message)}


def triggered_twice(engine: Engine, kind: str) -> tuple[Run, Any]:
    """An instance whose boundary event on `handle` caught two triggers of `kind`, and the trigger."""
    source, trigger = TRIGGERS[kind]
    run = Run(engine, source, ORDER)
    trigger(run)
    trigger(run)
    return run, trigger


@pytest.mark.parametrize("kind", TRIGGERS)
def test_each_trigger_while_the_activity_is_active_starts_another_path(engine: Engine, kind: str) -> None:
    source, trigger = TRIGGERS[kind]
    run = Run(engine, source, ORDER)

    opened = [[w.activity_id for w in trigger(run).work_items_opened] for _ in range(3)]

    assert opened == [["follow_up"], ["follow_up"], ["follow_up"]]
    assert len(run.open("follow_up")) == 3
    assert run.open("handle")  # the activity was never interrupted
    assert run.step.status == "waiting"


@pytest.mark.parametrize("kind", TRIGGERS)
def test_the_activity_completes_after_repeated_triggers_and_the_process_ends(engine: Engine, kind: str) -> None:
    run, _ = triggered_twice(engine, kind)

    step = run.complete("handle")
    assert step.status == "waiting"  # the two boundary paths still run
    assert "end" in step.completed_activities
    assert not step.signal_subscriptions and not step.subscriptions  # nothing waits on `handle` any more
    done = run.complete("follow_up")

    assert done.status == "completed"
    assert run.completed.count("follow_up_end") == 2


@pytest.mark.parametrize("kind", TRIGGERS)
def test_a_trigger_after_the_activity_completed_starts_nothing(engine: Engine, kind: str) -> None:
    run, trigger = triggered_twice(engine, kind)
    run.complete("handle")

    with pytest.raises(CommandRejected) as err:
        trigger(run)
    assert err.value.code == "no_matching_subscription"
    assert len(run.open("follow_up")) == 2


def test_a_snapshot_taken_between_triggers_still_fires_the_second_time(engine: Engine) -> None:
    compiled = engine.specs.get(SIGNAL_MODEL)
    run = Run(engine, SIGNAL_MODEL)
    first = run.signal()
    workflow = snapshot.load(first.snapshot, spec=compiled.spec, subprocess_specs=compiled.subprocess_specs)
    run.step = dataclasses.replace(first, snapshot=snapshot.dump(workflow))

    assert [s.activity_id for s in first.signal_subscriptions] == ["poke"]
    second = run.signal()

    assert [w.activity_id for w in second.work_items_opened] == ["follow_up"]
    assert len(run.open("follow_up")) == 2
    run.complete("handle")
    assert run.complete("follow_up").status == "completed"


STOPS = {  # kind -> (event definition, declaration)
    "signal": ('<bpmn:signalEventDefinition signalRef="stop_signal"/>',
               '<bpmn:signal id="stop_signal" name="stop"/>'),
    "message": ('<bpmn:messageEventDefinition messageRef="stop_message"/>',
                '<bpmn:message id="stop_message" name="stop"/>'),
}


def _with_interrupting_stop(kind: str) -> ModelSource:
    """The signal model plus an interrupting boundary event `stop` (signal or message `stop`) on
    `handle`, whose path is user task `stopped`."""
    definition, declaration = STOPS[kind]
    return model(f"""<bpmn:startEvent id="start"/><bpmn:userTask id="handle"/><bpmn:endEvent id="end"/>
<bpmn:boundaryEvent id="poke" attachedToRef="handle" cancelActivity="false">{ON_SIGNAL}</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="stop" attachedToRef="handle">{definition}</bpmn:boundaryEvent>
<bpmn:userTask id="follow_up"/><bpmn:endEvent id="follow_up_end"/>
<bpmn:userTask id="stopped"/><bpmn:endEvent id="stopped_end"/>
{chain("start", "handle", "end")}{chain("poke", "follow_up", "follow_up_end")}
{chain("stop", "stopped", "stopped_end")}""",
                 key=f"stop_by_{kind}", extra=SIGNAL + declaration + "\n")


def _stop(run: Run, kind: str) -> StepResult:
    if kind == "signal":
        return run.took(run.engine.deliver_signal(run.source, run.step.snapshot, name="stop"))
    return run.took(run.engine.deliver_message(run.source, run.step.snapshot, name="stop"))


@pytest.mark.parametrize("kind", STOPS)
def test_an_interrupting_boundary_event_fires_once_and_cancels_the_activity_and_the_rearmed_event(
        engine: Engine, kind: str) -> None:
    run = Run(engine, _with_interrupting_stop(kind))
    run.signal()
    run.signal()

    stopped = _stop(run, kind)

    assert [w.activity_id for w in stopped.work_items_opened] == ["stopped"]
    assert not run.open("handle")  # its work item was cancelled
    assert not stopped.signal_subscriptions and not stopped.subscriptions
    for trigger in (Run.signal, lambda r: _stop(r, kind)):
        with pytest.raises(CommandRejected):
            trigger(run)
    run.complete("stopped")
    assert run.complete("follow_up").status == "completed"  # the paths already started run on
    assert run.completed.count("follow_up_end") == 2
    assert "end" not in run.completed


# -- escalations thrown by the sub-process the event is attached to ---------------------------------


ESCALATION_MODEL = model(f"""<bpmn:startEvent id="start"/>
<bpmn:subProcess id="work">
  <bpmn:startEvent id="work_start"/><bpmn:userTask id="step"/>
  <bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="late"/>
  </bpmn:intermediateThrowEvent>
  <bpmn:exclusiveGateway id="again" default="f_done"/><bpmn:endEvent id="work_end"/>
  {chain("work_start", "step", "raise", "again")}
  <bpmn:sequenceFlow id="f_done" sourceRef="again" targetRef="work_end"/>
  <bpmn:sequenceFlow id="f_again" sourceRef="again" targetRef="step">
    <bpmn:conditionExpression>more</bpmn:conditionExpression></bpmn:sequenceFlow>
</bpmn:subProcess>
<bpmn:boundaryEvent id="on_late" attachedToRef="work" cancelActivity="false">
  <bpmn:escalationEventDefinition escalationRef="late"/></bpmn:boundaryEvent>
<bpmn:userTask id="follow_up"/><bpmn:endEvent id="follow_up_end"/><bpmn:endEvent id="end"/>
{chain("start", "work", "end")}{chain("on_late", "follow_up", "follow_up_end")}""",
    key="nib_escalation", extra='<bpmn:escalation id="late" escalationCode="late"/>\n')


def test_each_escalation_from_the_running_sub_process_starts_another_path(engine: Engine) -> None:
    run = Run(engine, ESCALATION_MODEL)

    # Each round's item throws escalation `late` from inside the sub-process; the third ends it.
    opened = [sorted(w.activity_id for w in run.complete("step", {"more": more}).work_items_opened)
              for more in (True, True, False)]

    assert opened == [["follow_up", "step"], ["follow_up", "step"], ["follow_up"]]
    assert len(run.open("follow_up")) == 3
    assert "end" in run.completed
    assert run.complete("follow_up").status == "completed"
    assert run.completed.count("follow_up_end") == 3


# -- a condition that becomes true again -------------------------------------------------------------


def _write_urgent(task_id: str, value: str) -> str:
    """A script task writing `value` to the data object `urgent`."""
    out = f"{task_id}_out"
    return f"""<bpmn:scriptTask id="{task_id}"><bpmn:ioSpecification><bpmn:dataOutput id="{out}"/><bpmn:inputSet/>
<bpmn:outputSet><bpmn:dataOutputRefs>{out}</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>
<bpmn:dataOutputAssociation><bpmn:sourceRef>{out}</bpmn:sourceRef><bpmn:targetRef>urgent_ref</bpmn:targetRef>
</bpmn:dataOutputAssociation><bpmn:script>{out} = {value}</bpmn:script></bpmn:scriptTask>"""


# `handle` runs beside a loop whose user task `toggle` sets the data object `urgent` to `value`.
CONDITION_MODEL = model(f"""<bpmn:startEvent id="start"/>{_write_urgent("init", "False")}
<bpmn:parallelGateway id="fork"/><bpmn:userTask id="handle"/><bpmn:endEvent id="end"/>
<bpmn:boundaryEvent id="when_urgent" attachedToRef="handle" cancelActivity="false">
  <bpmn:conditionalEventDefinition><bpmn:condition>urgent</bpmn:condition></bpmn:conditionalEventDefinition>
</bpmn:boundaryEvent>
<bpmn:userTask id="follow_up"/><bpmn:endEvent id="follow_up_end"/>
<bpmn:userTask id="toggle"/>{_write_urgent("write", "value")}
<bpmn:exclusiveGateway id="again" default="f_more"/><bpmn:endEvent id="toggle_end"/>
<bpmn:dataObject id="urgent"/><bpmn:dataObjectReference id="urgent_ref" dataObjectRef="urgent"/>
{chain("start", "init", "fork", "handle", "end")}{chain("fork", "toggle", "write", "again")}
{flow("f_done", "again", "toggle_end", "finished")}{flow("f_more", "again", "toggle")}
{chain("when_urgent", "follow_up", "follow_up_end")}""", key="nib_condition")


def test_a_condition_fires_again_each_time_it_becomes_true_while_the_activity_is_active(engine: Engine) -> None:
    run = Run(engine, CONDITION_MODEL)

    fired = []
    for value in (True, True, False, True, False, True):
        step = run.complete("toggle", {"value": value, "finished": False})
        fired.append("follow_up" in [w.activity_id for w in step.work_items_opened])

    # It fires when the condition becomes true, not again while it stays true.
    assert fired == [True, False, False, True, False, True]
    assert len(run.open("follow_up")) == 3
    run.complete("toggle", {"value": True, "finished": True})
    run.complete("handle")
    assert run.complete("follow_up").status == "completed"
    assert run.completed.count("follow_up_end") == 3
