"""What the engine tells its caller so the caller can skip bookkeeping: withdrawn calls, model traits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bpmn import Engine
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
ECHO = """<bpmn:serviceTask id="{id}">
  <bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="core.echo" resultVariable="{id}_result">
      <spiffworkflow:parameters/>
    </spiffworkflow:serviceTaskOperator>
  </bpmn:extensionElements>
</bpmn:serviceTask>"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


# Two calls in parallel; a timer on the slow one takes its token after an hour.
RACE = model(f"""
{START}
<bpmn:parallelGateway id="split"/>
{ECHO.format(id="fast")}
{ECHO.format(id="slow")}
<bpmn:boundaryEvent id="slow_timeout" attachedToRef="slow">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
{script("gave_up", "gave_up = True")}
<bpmn:endEvent id="end_fast"/>
<bpmn:endEvent id="end_slow"/>
<bpmn:endEvent id="end_gave_up"/>
{chain("start", "split")}
{chain("split", "fast", "end_fast")}
{chain("split", "slow", "end_slow")}
{chain("slow_timeout", "gave_up", "end_gave_up")}
""")


def _calls(result: object) -> dict[str, str]:
    return {call.activity_id: call.id for call in result.service_calls}  # type: ignore[attr-defined]


def test_an_answered_call_is_not_withdrawn(engine: Engine) -> None:
    started = engine.start(RACE)
    calls = _calls(started)

    done = engine.resume_service_task(RACE, started.snapshot, call_id=calls["fast"], result={})

    assert done.calls_withdrawn == []
    assert started.calls_withdrawn == []


def test_a_boundary_timer_withdraws_the_call_of_the_task_it_interrupts(engine: Engine) -> None:
    started = engine.start(RACE)
    calls = _calls(started)

    fired = engine.fire_due_timers(RACE, started.snapshot, now=datetime.now(UTC) + timedelta(hours=2))

    assert fired.calls_withdrawn == [calls["slow"]]
    assert "fast" in fired.active_activities


def test_cancelling_the_instance_withdraws_every_parked_call(engine: Engine) -> None:
    started = engine.start(RACE)

    cancelled = engine.cancel(RACE, started.snapshot)

    assert sorted(cancelled.calls_withdrawn) == sorted(_calls(started).values())


MESSAGES = model(f"""
{START}
<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="payment"/></bpmn:intermediateCatchEvent>
{END}
{chain("start", "paid", "end")}
""", extra='<bpmn:message id="payment" name="payment"/>\n')

SIGNAL_BOUNDARY = model(f"""
{START}
<bpmn:userTask id="work"/>
<bpmn:boundaryEvent id="stop" attachedToRef="work"><bpmn:signalEventDefinition signalRef="halt"/></bpmn:boundaryEvent>
<bpmn:endEvent id="stopped"/>
{END}
{chain("start", "work", "end")}
{chain("stop", "stopped")}
""", extra='<bpmn:signal id="halt" name="halt"/>\n')

THROWS_ONLY = model(f"""
{START}
<bpmn:intermediateThrowEvent id="announce"><bpmn:signalEventDefinition signalRef="halt"/></bpmn:intermediateThrowEvent>
{END}
{chain("start", "announce", "end")}
""", extra='<bpmn:signal id="halt" name="halt"/>\n')


@pytest.mark.parametrize(("source", "messages", "signals"), [
    (RACE, False, False),
    (MESSAGES, True, False),
    (SIGNAL_BOUNDARY, False, True),
    (THROWS_ONLY, False, False),  # throwing is not waiting: nothing to index
])
def test_traits_say_whether_a_model_can_ever_wait_for_a_message_or_signal(
    engine: Engine, source: object, messages: bool, signals: bool
) -> None:
    traits = engine.traits(source)  # type: ignore[arg-type]

    assert (traits.catches_messages, traits.catches_signals) == (messages, signals)
