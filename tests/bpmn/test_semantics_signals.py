"""Signals leaving an instance (`StepResult.signals_thrown`) and arriving from outside (`Engine.deliver_signal`)."""

from __future__ import annotations

import pytest

from bpmn import CommandRejected, Engine, ThrownSignal
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
SIGNAL = '<bpmn:signal id="go_signal" name="go"/>\n'


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
