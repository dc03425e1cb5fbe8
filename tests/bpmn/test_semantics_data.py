"""Data associations through an `ioSpecification` (`bpmn.semantics.data`), and message variables."""

from __future__ import annotations

import pytest

from bpmn import Engine, validate
from tests.bpmn.xml import chain, flow, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


DATA = model(f"""{START}
<bpmn:scriptTask id="produce"><bpmn:ioSpecification><bpmn:dataOutput id="out_total"/><bpmn:inputSet/>
<bpmn:outputSet><bpmn:dataOutputRefs>out_total</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>
<bpmn:dataOutputAssociation><bpmn:sourceRef>out_total</bpmn:sourceRef><bpmn:targetRef>total_ref</bpmn:targetRef>
</bpmn:dataOutputAssociation><bpmn:script>out_total = 42</bpmn:script></bpmn:scriptTask>
<bpmn:userTask id="pause"/>
<bpmn:scriptTask id="consume"><bpmn:ioSpecification><bpmn:dataInput id="in_total"/>
<bpmn:inputSet><bpmn:dataInputRefs>in_total</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet/></bpmn:ioSpecification>
<bpmn:dataInputAssociation><bpmn:sourceRef>total_ref</bpmn:sourceRef><bpmn:targetRef>in_total</bpmn:targetRef>
</bpmn:dataInputAssociation><bpmn:script>doubled = in_total * 2
kept = before</bpmn:script></bpmn:scriptTask>
{END}
<bpmn:dataObject id="total"/><bpmn:dataObjectReference id="total_ref" dataObjectRef="total"/>
{chain("start", "produce", "pause", "consume", "end")}""")


def test_associations_copy_a_data_output_into_a_data_object_and_it_into_a_data_input(engine: Engine) -> None:
    # SpiffWorkflow 3.2.0 copied the data object under its own id and failed with "Missing data ouput".
    assert validate(DATA).errors == ()
    waiting = engine.start(DATA, variables={"before": "kept"})
    assert waiting.status == "waiting"
    [item] = waiting.work_items_opened
    # Mid-way snapshot: the data object lives in the workflow state, not in a task.
    again = engine.inspect(DATA, waiting.snapshot)
    done = engine.complete_work_item(DATA, again.snapshot, work_item_id=item.id)
    assert done.status == "completed"
    assert done.variables["doubled"] == 84
    assert done.variables["kept"] == "kept"  # the task still sees the process variables
    assert "in_total" not in done.variables  # the data input lives only while the task runs


def test_an_output_the_task_does_not_set_leaves_the_data_object_unset(engine: Engine) -> None:
    source = model(DATA.content.decode().split('isExecutable="true">', 1)[1].rsplit("</bpmn:process>", 1)[0]
                   .replace("out_total = 42", "other = 1").replace("doubled = in_total * 2", "got = in_total"))
    waiting = engine.start(source, variables={"before": 1})
    [item] = waiting.work_items_opened
    done = engine.complete_work_item(source, waiting.snapshot, work_item_id=item.id)
    assert done.status == "completed"
    assert done.variables["got"] is None


MESSAGE = '<bpmn:message id="m" name="status_update"/>\n'
INIT = script("init", "status = 'new'\nrounds = 0")
COUNT = script("count", "rounds = rounds + 1\nseen = status")
LOOP = model(f"""{START}{INIT}
<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
{COUNT}<bpmn:exclusiveGateway id="again" default="f_more"/>{END}
{chain("start", "init", "wait", "count", "again")}
{flow("f_done", "again", "end", "rounds &gt;= 2")}{flow("f_more", "again", "wait")}""", extra=MESSAGE)


def test_message_variables_win_over_what_the_waiting_task_inherited_also_in_a_loop(engine: Engine) -> None:
    # The catch event re-merged its parent's data after the message's variables were applied, so a
    # value set before (here `status`) hid the delivered one, on the first catch and on every loop.
    first = engine.start(LOOP)
    second = engine.deliver_message(LOOP, first.snapshot, name="status_update", variables={"status": "pending"})
    assert second.status == "waiting" and second.variables["seen"] == "pending"
    done = engine.deliver_message(LOOP, second.snapshot, name="status_update", variables={"status": "ok"})
    assert done.status == "completed"
    assert done.variables["seen"] == "ok"
