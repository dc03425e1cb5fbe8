"""SpiffWorkflow gaps closed by tree rewrites: links, global tasks, implicit splits, ad-hoc, shared definitions."""

from __future__ import annotations

import pytest

from bpmn import Engine, StartTrigger, validate
from tests.bpmn.xml import chain, flow, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def test_link_throw_continues_at_the_catch_of_the_same_name(engine: Engine) -> None:
    source = model(f"""{START}{script("before", "a = 1")}
<bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition name="jump"/></bpmn:intermediateThrowEvent>
<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="jump"/></bpmn:intermediateCatchEvent>
{script("after", "b = a + 1")}{END}
{chain("start", "before", "go")}{chain("land", "after", "end")}""")
    assert validate(source).errors == ()
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables["b"] == 2
    assert not any("__pb_" in a for a in result.completed_activities)


def test_call_activity_calls_a_global_script_task(engine: Engine) -> None:
    extra = '<bpmn:globalScriptTask id="shared_step"><bpmn:script>called = True</bpmn:script></bpmn:globalScriptTask>\n'
    source = model(f"""{START}<bpmn:callActivity id="call" calledElement="shared_step"/>{END}
{chain("start", "call", "end")}""", extra=extra)
    assert validate(source).errors == ()
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables["called"] is True


SPLIT = model(f"""{START}{script("first", "x = x")}
{script("big", "big = True")}{script("always", "always = True")}{script("fallback", "fallback = True")}
<bpmn:endEvent id="end_big"/><bpmn:endEvent id="end_always"/><bpmn:endEvent id="end_fallback"/>
{chain("start", "first")}
{flow("f_big", "first", "big", "x &gt; 10")}{flow("f_always", "first", "always")}
{chain("big", "end_big")}{chain("always", "end_always")}{chain("fallback", "end_fallback")}
""".replace('<bpmn:scriptTask id="first">', '<bpmn:scriptTask id="first" default="f_fallback">')
    + flow("f_fallback", "first", "fallback"))


# BPMN 8.3.13 / 13.2.1 (betsy SequenceFlow_ConditionalDefault_Normal): the default flow is taken when
# no *conditional* flow is; an unconditioned flow always gets a token and does not count against it.
@pytest.mark.parametrize(("x", "taken"), [(20, {"big", "always"}), (1, {"always", "fallback"})])
def test_conditional_and_unconditioned_flows_out_of_a_task(engine: Engine, x: int, taken: set[str]) -> None:
    result = engine.start(SPLIT, variables={"x": x})
    assert result.status == "completed"
    ran = {a for a in ("big", "always", "fallback") if a in result.completed_activities}
    assert ran == taken


def test_default_flow_out_of_a_task_when_no_condition_holds(engine: Engine) -> None:
    source = model(f"""{START}
<bpmn:scriptTask id="first" default="f_b"><bpmn:script>y = 1</bpmn:script></bpmn:scriptTask>
{script("a", "a = 1")}{script("b", "b = 1")}<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>
{chain("start", "first")}{flow("f_a", "first", "a", "x &gt; 10")}{flow("f_b", "first", "b")}
{chain("a", "end_a")}{chain("b", "end_b")}""")
    result = engine.start(source, variables={"x": 1})
    assert "b" in result.completed_activities and "a" not in result.completed_activities


def test_unconditioned_flows_out_of_a_task_split_in_parallel_and_multi_merge(engine: Engine) -> None:
    source = model(f"""{START}{script("first", "n = 0")}{script("left", "l = 1")}{script("right", "r = 1")}
{script("last", "n = n + 1")}{END}
{chain("start", "first")}{chain("first", "left", "last")}{chain("first", "right", "last")}{chain("last", "end")}""")
    result = engine.start(source)
    assert result.status == "completed"
    assert result.completed_activities.count("last") == 2


def test_completion_quantity_emits_several_tokens(engine: Engine) -> None:
    source = model(f"""{START}
<bpmn:scriptTask id="twice" completionQuantity="2"><bpmn:script>k = 1</bpmn:script></bpmn:scriptTask>
{script("next", "m = 1")}{END}{chain("start", "twice", "next", "end")}""")
    result = engine.start(source)
    assert result.completed_activities.count("next") == 2


def test_ad_hoc_sub_process_without_completion_condition_runs_every_activity(engine: Engine) -> None:
    source = model(f"""{START}
<bpmn:adHocSubProcess id="adhoc">{script("one", "one = 1")}{script("two", "two = 2")}{script("three", "three = 3")}
{chain("two", "three")}</bpmn:adHocSubProcess>{END}{chain("start", "adhoc", "end")}""")
    assert validate(source).errors == ()
    result = engine.start(source)
    assert result.status == "completed"
    assert {"one", "two", "three", "adhoc"} <= set(result.completed_activities)


def test_ad_hoc_with_user_tasks_round_trips_through_a_snapshot(engine: Engine) -> None:
    source = model(f"""{START}
<bpmn:adHocSubProcess id="adhoc"><bpmn:userTask id="a"/><bpmn:userTask id="b"/></bpmn:adHocSubProcess>
{END}{chain("start", "adhoc", "end")}""")
    started = engine.start(source)
    first, second = started.work_items_opened
    middle = engine.complete_work_item(source, started.snapshot, work_item_id=first.id)
    assert middle.status == "waiting"
    done = engine.complete_work_item(source, middle.snapshot, work_item_id=second.id)
    assert done.status == "completed"


def test_event_definition_ref_is_resolved(engine: Engine) -> None:
    extra = '<bpmn:error id="err" errorCode="E1"/>\n<bpmn:errorEventDefinition id="shared_error" errorRef="err"/>\n'
    source = model(f"""{START}
<bpmn:subProcess id="sub"><bpmn:startEvent id="s_start"/>
<bpmn:endEvent id="fail"><bpmn:eventDefinitionRef>shared_error</bpmn:eventDefinitionRef></bpmn:endEvent>
{chain("s_start", "fail")}</bpmn:subProcess>
<bpmn:boundaryEvent id="caught" attachedToRef="sub">
<bpmn:eventDefinitionRef>shared_error</bpmn:eventDefinitionRef></bpmn:boundaryEvent>
{script("handle", "handled = True")}{END}<bpmn:endEvent id="end_ok"/>
{chain("start", "sub", "end_ok")}{chain("caught", "handle", "end")}""", extra=extra)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("handled") is True


def test_a_start_event_with_id_start_no_longer_empties_the_process(engine: Engine) -> None:
    # SpiffWorkflow names its own start task `Start`; an element with that id replaced it and the
    # process parsed to nothing ("No output task connected").
    source = model(f"""<bpmn:startEvent id="Start"/>{script("work", "done = True")}<bpmn:endEvent id="End"/>
{chain("Start", "work", "End")}""")
    result = engine.start(source)
    assert result.status == "completed" and result.variables["done"] is True
    assert result.completed_activities == ["Start", "work", "End"]


def test_a_called_global_task_is_audited_under_its_own_id(engine: Engine) -> None:
    extra = '<bpmn:globalScriptTask id="shared_step"><bpmn:script>called = True</bpmn:script></bpmn:globalScriptTask>\n'
    source = model(f"""{START}<bpmn:callActivity id="call" calledElement="shared_step"/>{END}
{chain("start", "call", "end")}""", extra=extra)
    result = engine.start(source)
    assert "shared_step" in result.completed_activities
    assert validate(source).process_key == "test_process"  # a global task is never the process to run


def test_an_activity_without_outgoing_flow_ends_its_path(engine: Engine) -> None:
    source = model(f"""{START}<bpmn:parallelGateway id="fork"/>{script("a", "a = 1")}{script("b", "b = 2")}
{chain("start", "fork", "a")}{chain("fork", "b")}""")
    result = engine.start(source)
    assert result.status == "completed"
    assert {"a", "b"} <= set(result.completed_activities)


def test_a_receive_task_that_instantiates_starts_its_process_by_message(engine: Engine) -> None:
    extra = '<bpmn:message id="hello" name="hello"/>\n'
    source = model(f"""<bpmn:receiveTask id="greet" messageRef="hello" instantiate="true"/>
{script("reply", "replied = name")}{END}{chain("greet", "reply", "end")}""", extra=extra)
    assert validate(source).errors == ()
    [info] = engine.start_events(source)
    assert (info.activity_id, info.kind, info.message_name) == ("greet", "message", "hello")
    result = engine.start(source, variables={"name": "ada"},
                          trigger=StartTrigger("message", activity_id="greet", message_name="hello"))
    assert result.status == "completed" and result.variables["replied"] == "ada"
    assert result.completed_activities[0] == "greet"
