"""Signals leaving an instance (`StepResult.signals_thrown`) and arriving from outside (`Engine.deliver_signal`)."""

from __future__ import annotations

import pytest

from bpmn import CommandRejected, Engine, StartTrigger, ThrownSignal
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
SIGNAL = '<bpmn:signal id="go_signal" name="go"/>\n'
ON_GO = '<bpmn:signalEventDefinition signalRef="go_signal"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def test_uncaught_signal_is_reported_and_a_caught_one_is_not(engine: Engine) -> None:
    thrower = model(f"""{START}<bpmn:intermediateThrowEvent id="shout">
<bpmn:signalEventDefinition signalRef="go_signal"/></bpmn:intermediateThrowEvent>{END}
{chain("start", "shout", "end")}""", extra=SIGNAL)
    result = engine.start(thrower)
    assert result.status == "completed"
    assert result.signals_thrown == [ThrownSignal("go", result.signals_thrown[0].payload)]
    plain = engine.start(model(f"{START}{END}{chain('start', 'end')}"))
    assert plain.signals_thrown == []


def test_deliver_signal_to_a_waiting_catch_event_with_variables(engine: Engine) -> None:
    waiter = model(f"""{START}<bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition signalRef="go_signal"/>
</bpmn:intermediateCatchEvent>{script("after", "seen = colour")}{END}{chain("start", "wait", "after", "end")}""",
                   extra=SIGNAL)
    waiting = engine.start(waiter)
    assert waiting.status == "waiting"
    with pytest.raises(CommandRejected):
        engine.deliver_signal(waiter, waiting.snapshot, name="other")
    done = engine.deliver_signal(waiter, waiting.snapshot, name="go", variables={"colour": "red"})
    assert done.status == "completed"
    assert done.variables["seen"] == "red"
    assert any(a.type == "signal.received" and a.activity_id == "wait" for a in done.audit)


def test_variables_merge_open_branches_deterministically(engine: Engine) -> None:
    source = model(f"""{START}<bpmn:parallelGateway id="fork"/>
{script("left", "side = 'left'")}<bpmn:userTask id="left_wait"/>
{script("right", "side = 'right'")}<bpmn:userTask id="right_wait"/>
<bpmn:parallelGateway id="join"/>{END}
{chain("start", "fork")}{chain("fork", "left", "left_wait", "join")}{chain("fork", "right", "right_wait", "join")}
{chain("join", "end")}""")
    first = engine.start(source)
    # Both branches wait: the open task created last (the right branch's) wins, whatever ran last.
    assert first.variables["side"] == "right"
    again = engine.inspect(source, first.snapshot)
    assert again.variables == first.variables


def test_a_signal_caught_inside_the_instance_is_still_broadcast(engine: Engine) -> None:
    # Signals are broadcast (BPMN 10.5.1): other instances get it whether or not this one caught it.
    source = model(f"""{START}<bpmn:parallelGateway id="fork"/>
<bpmn:intermediateCatchEvent id="hear">{ON_GO}</bpmn:intermediateCatchEvent>
<bpmn:intermediateThrowEvent id="shout">{ON_GO}</bpmn:intermediateThrowEvent>
<bpmn:parallelGateway id="join"/>{END}
{chain("start", "fork")}{chain("fork", "hear", "join")}{chain("fork", "shout", "join")}{chain("join", "end")}""",
                   extra=SIGNAL)
    result = engine.start(source)
    assert result.status == "completed"
    assert "hear" in result.completed_activities
    assert [s.name for s in result.signals_thrown] == ["go"]


def test_signal_subscriptions_list_catch_events_and_event_subprocess_starts(engine: Engine) -> None:
    source = model(f"""{START}<bpmn:userTask id="work"/>
<bpmn:boundaryEvent id="stop" attachedToRef="work">{ON_GO}</bpmn:boundaryEvent>
<bpmn:subProcess id="on_halt" triggeredByEvent="true">
<bpmn:startEvent id="halt_start" isInterrupting="false">
<bpmn:signalEventDefinition signalRef="halt_signal"/></bpmn:startEvent>
<bpmn:endEvent id="halt_end"/>{chain("halt_start", "halt_end")}</bpmn:subProcess>
{END}<bpmn:endEvent id="stopped"/>{chain("start", "work", "end")}{chain("stop", "stopped")}""",
                   extra=SIGNAL + '<bpmn:signal id="halt_signal" name="halt"/>\n')
    waiting = engine.start(source)
    assert {(s.activity_id, s.name) for s in waiting.signal_subscriptions} == {("stop", "go"), ("halt_start", "halt")}
    # A snapshot round trip: the restored instance lists (and catches) the same.
    again = engine.inspect(source, waiting.snapshot)
    assert set(again.signal_subscriptions) == set(waiting.signal_subscriptions)
    stopped = engine.deliver_signal(source, again.snapshot, name="go")
    assert stopped.status == "completed" and "stopped" in stopped.completed_activities
    assert stopped.signal_subscriptions == []


def test_a_signal_start_event_starts_an_instance_with_the_signal_variables(engine: Engine) -> None:
    source = model(f"""<bpmn:startEvent id="on_go">{ON_GO}</bpmn:startEvent>
{script("note", "noted = colour")}{END}{chain("on_go", "note", "end")}""", extra=SIGNAL)
    [info] = engine.start_events(source)
    assert (info.kind, info.signal_name) == ("signal", "go")
    started = engine.start(source, variables={"colour": "red"},
                           trigger=StartTrigger("signal", activity_id="on_go", signal_name="go"))
    assert started.status == "completed" and started.variables["noted"] == "red"
    with pytest.raises(CommandRejected):
        engine.start(source, trigger=StartTrigger("signal", signal_name="other"))
