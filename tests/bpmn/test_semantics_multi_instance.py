"""Multi-instance behavior events and completion-condition variables (SpiffWorkflow 3.2.0 ignores both)."""

from __future__ import annotations

import pytest

from bpmn import Engine, validate
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
SIGNAL = '<bpmn:signal id="sig" name="instance_done"/><bpmn:signalEventDefinition id="sig_def" signalRef="sig"/>\n'


def _mi_user(sequential: bool, extra: str = "", attributes: str = "") -> str:
    flag = str(sequential).lower()
    return (f'<bpmn:userTask id="approve"><bpmn:multiInstanceLoopCharacteristics isSequential="{flag}"'
            f' {attributes}><bpmn:loopCardinality>3</bpmn:loopCardinality>{extra}'
            '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')


def test_completion_condition_sees_loop_variables_and_cancels_the_rest() -> None:
    condition = ("<bpmn:completionCondition>nrOfCompletedInstances &gt;= 2 and nrOfInstances == 3"
                 "</bpmn:completionCondition>")
    source = model(f"""{START}{_mi_user(False, condition)}{script("after", "done = True")}{END}
{chain("start", "approve", "after", "end")}""")
    assert validate(source).errors == ()
    started = Engine().start(source)
    items = [w.id for w in started.work_items_opened]
    assert len(items) == 3
    # Every step on a fresh engine: the state lives in the snapshot, not in a cached spec.
    first = Engine().complete_work_item(source, started.snapshot, work_item_id=items[0])
    assert first.status == "waiting" and "after" not in first.completed_activities
    second = Engine().complete_work_item(source, first.snapshot, work_item_id=items[1])
    assert second.status == "completed"
    assert items[2] in second.work_items_closed
    assert second.variables["done"] is True


@pytest.mark.parametrize(("behavior", "expected"), [("None", 3), ("One", 1), ("All", 0)])
def test_behavior_events_start_the_boundary_path_without_interrupting(behavior: str, expected: int) -> None:
    ref = {"None": 'noneBehaviorEventRef="sig_def"', "One": 'oneBehaviorEventRef="sig_def"', "All": ""}[behavior]
    source = model(f"""{START}{_mi_user(True, attributes=f'behavior="{behavior}" {ref}')}
<bpmn:boundaryEvent id="told" attachedToRef="approve"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:boundaryEvent>
{script("notify", "notified = notified + 1")}<bpmn:endEvent id="end_notify"/>{script("after", "done = True")}{END}
{chain("start", "approve", "after", "end")}{chain("told", "notify", "end_notify")}""", extra=SIGNAL)
    assert validate(source).errors == ()
    result = Engine().start(source, variables={"notified": 0})
    notified = 0
    for _ in range(3):
        (item,) = result.work_items_opened
        result = Engine().complete_work_item(source, result.snapshot, work_item_id=item.id)
        notified += result.completed_activities.count("notify")
    assert result.status == "completed"
    assert result.variables["done"] is True
    assert notified == expected


def test_complex_behavior_condition_throws_and_completes_early() -> None:
    complex_definition = ('<bpmn:complexBehaviorDefinition><bpmn:condition>nrOfCompletedInstances == 2</bpmn:condition>'
                          '<bpmn:event><bpmn:signalEventDefinition signalRef="sig"/></bpmn:event>'
                          '</bpmn:complexBehaviorDefinition>')
    source = model(f"""{START}{_mi_user(True, complex_definition, 'behavior="Complex"')}
<bpmn:boundaryEvent id="told" attachedToRef="approve" cancelActivity="false">
<bpmn:signalEventDefinition signalRef="sig"/></bpmn:boundaryEvent>
{script("notify", "notified = True")}<bpmn:endEvent id="end_notify"/>{END}
{chain("start", "approve", "end")}{chain("told", "notify", "end_notify")}""", extra=SIGNAL)
    assert validate(source).errors == ()
    result = Engine().start(source)
    for _ in range(2):
        (item,) = result.work_items_opened
        result = Engine().complete_work_item(source, result.snapshot, work_item_id=item.id)
        assert "notify" not in result.completed_activities or result.status == "completed"
    assert result.status == "completed"
    assert "notify" in result.completed_activities
