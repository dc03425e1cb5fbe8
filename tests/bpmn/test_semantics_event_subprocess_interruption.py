"""Once an interrupting event sub-process of a scope fired, that scope is being interrupted.

BPMN 2.0.2 (10.3.5, 10.5.6) and Camunda: no other event sub-process of the scope starts any more,
whatever its trigger (message, signal, timer, condition, error, escalation), the instance is not
subscribed to their events, and a non-interrupting handler of the scope that is still running is
cancelled with the rest of the scope. Only the interrupted scope: the event sub-processes of the
process around an interrupted sub-process go on waiting and running.

Every step goes through the `Engine` API, so each one restores the instance from the previous
step's snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bpmn import CommandRejected, Engine, StepResult, validate
from bpmn.types import ModelSource
from tests.bpmn.xml import HEADER, chain, correlated_message, script

PROCESS = "esp_interruption"
DECLARATIONS = (correlated_message(PROCESS, "stop_message", name="stop")
                + '<bpmn:signal id="ping_signal" name="ping"/>\n<bpmn:signal id="pong_signal" name="pong"/>\n'
                + '<bpmn:error id="failure" errorCode="failure"/>\n'
                + '<bpmn:escalation id="alarm" escalationCode="alarm"/>\n')
TRIGGERS = {
    "stop": '<bpmn:messageEventDefinition messageRef="stop_message"/>',
    "ping": '<bpmn:signalEventDefinition signalRef="ping_signal"/>',
    "pong": '<bpmn:signalEventDefinition signalRef="pong_signal"/>',
    "timer": '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>',
    "condition": ('<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">'
                  "level &gt; 1</bpmn:condition></bpmn:conditionalEventDefinition>"),
    "failure": '<bpmn:errorEventDefinition errorRef="failure"/>',
    "alarm": '<bpmn:escalationEventDefinition escalationRef="alarm"/>',
}
START = {"order_id": "o-1"}
XSI = '<bpmn:definitions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '  # for the condition's xsi:type


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _handler(name: str, trigger: str, *, interrupting: bool, review: bool = False, end: str = "") -> str:
    """Event sub-process `name` started by `trigger`: [user task `<name>_review` ->] script
    `<name>_script` (`<name>_ran = True`) -> end event (throwing `end`, an event definition)."""
    flag = "" if interrupting else ' isInterrupting="false"'
    steps = [f"{name}_start", *([f"{name}_review"] if review else []), f"{name}_script", f"{name}_end"]
    review_task = f'<bpmn:userTask id="{name}_review"/>' if review else ""
    return f"""<bpmn:subProcess id="{name}" triggeredByEvent="true">
  <bpmn:startEvent id="{name}_start"{flag}>{TRIGGERS[trigger]}</bpmn:startEvent>{review_task}
  {script(f"{name}_script", f"{name}_ran = True")}<bpmn:endEvent id="{name}_end">{end}</bpmn:endEvent>
  {chain(*steps)}
</bpmn:subProcess>"""


def _stop_handler() -> str:
    """The interrupting event sub-process `stop` (message `stop`), held open by its user task."""
    return _handler("stop", "stop", interrupting=True, review=True)


def _valid(body: str) -> ModelSource:
    xml = (f'{HEADER.replace("<bpmn:definitions ", XSI)}{DECLARATIONS}'
           f'<bpmn:process id="{PROCESS}" isExecutable="true">\n{body}\n</bpmn:process>\n</bpmn:definitions>\n')
    source = ModelSource(filename=f"{PROCESS}.bpmn", content=xml.encode())
    report = validate(source)
    assert report.ok, [p.as_dict() for p in report.errors]
    return source


def _process(*handlers: str, main: str = "") -> ModelSource:
    """start [-> script `main` running `main`] -> user task `work` -> end, beside `handlers`."""
    path = ["start", *(["main"] if main else []), "work", "end"]
    main_script = script("main", main) if main else ""
    return _valid(f'<bpmn:startEvent id="start"/>{main_script}<bpmn:userTask id="work"/>'
                  f'<bpmn:endEvent id="end"/>{chain(*path)}{"".join(handlers)}')


def _in_sub_process(*handlers: str, outer: str = "") -> ModelSource:
    """Sub-process `sub` (user task `sub_work`, beside `handlers`), then user task `later`; `outer`
    holds event sub-processes of the process itself."""
    sub = f"""<bpmn:subProcess id="sub"><bpmn:startEvent id="s_start"/><bpmn:userTask id="sub_work"/>
  <bpmn:endEvent id="s_end"/>{chain("s_start", "sub_work", "s_end")}{"".join(handlers)}</bpmn:subProcess>"""
    return _valid(f'<bpmn:startEvent id="start"/>{sub}<bpmn:userTask id="later"/><bpmn:endEvent id="end"/>'
                  f'{chain("start", "sub", "later", "end")}{outer}')


def _item(step: StepResult, activity: str) -> str:
    return next(w.id for w in step.work_items_opened if w.activity_id == activity)


def _stop(engine: Engine, source: ModelSource, step: StepResult) -> StepResult:
    return engine.deliver_message(source, step.snapshot, name="stop", correlation=START)


def _signals(step: StepResult) -> list[tuple[str, str]]:
    return [(s.activity_id, s.name) for s in step.signal_subscriptions]


def _finish(engine: Engine, source: ModelSource, step: StepResult, item_of: StepResult,
            activity: str = "stop_review") -> StepResult:
    return engine.complete_work_item(source, step.snapshot, work_item_id=_item(item_of, activity))


# -- signals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interrupting", [True, False])
def test_signal_does_not_start_an_event_sub_process_of_an_interrupted_process(
        engine: Engine, interrupting: bool) -> None:
    source = _process(_stop_handler(), _handler("ping", "ping", interrupting=interrupting))
    started = engine.start(source, variables=START)
    assert _signals(started) == [("ping_start", "ping")]
    stopped = _stop(engine, source, started)
    assert stopped.active_activities == ["stop", "stop_review"]
    assert _signals(stopped) == []
    with pytest.raises(CommandRejected) as refused:
        engine.deliver_signal(source, stopped.snapshot, name="ping")
    assert refused.value.code == "no_matching_subscription"
    done = _finish(engine, source, stopped, stopped)
    assert done.status == "completed", done.incidents
    assert done.variables["stop_ran"] is True and "ping_ran" not in done.variables


@pytest.mark.parametrize("interrupting", [True, False])
def test_signal_does_not_start_an_event_sub_process_of_an_interrupted_sub_process(
        engine: Engine, interrupting: bool) -> None:
    source = _in_sub_process(_stop_handler(), _handler("ping", "ping", interrupting=interrupting),
                             outer=_handler("pong", "pong", interrupting=False))
    started = engine.start(source, variables=START)
    stopped = _stop(engine, source, started)
    assert stopped.active_activities == ["sub", "stop", "stop_review"]
    assert _signals(stopped) == [("pong_start", "pong")]
    with pytest.raises(CommandRejected) as refused:
        engine.deliver_signal(source, stopped.snapshot, name="ping")
    assert refused.value.code == "no_matching_subscription"
    done = _finish(engine, source, stopped, stopped)
    assert done.active_activities == ["later"], done.incidents
    assert "ping_ran" not in done.variables


def test_signal_boundary_event_of_the_interrupted_path_waits_no_more(engine: Engine) -> None:
    boundary = (f'<bpmn:boundaryEvent id="work_pinged" attachedToRef="work" cancelActivity="false">'
                f'{TRIGGERS["ping"]}</bpmn:boundaryEvent>{script("note_ping", "noted = True")}'
                f'<bpmn:endEvent id="noted_end"/>{chain("work_pinged", "note_ping", "noted_end")}')
    source = _process(_stop_handler(), boundary)
    started = engine.start(source, variables=START)
    assert _signals(started) == [("work_pinged", "ping")]
    stopped = _stop(engine, source, started)
    assert _signals(stopped) == []
    with pytest.raises(CommandRejected):
        engine.deliver_signal(source, stopped.snapshot, name="ping")


def test_interrupted_sub_process_leaves_the_signal_event_sub_processes_of_the_process_waiting(
        engine: Engine) -> None:
    source = _in_sub_process(_stop_handler(), outer=_handler("pong", "pong", interrupting=False))
    started = engine.start(source, variables=START)
    stopped = _stop(engine, source, started)
    ponged = engine.deliver_signal(source, stopped.snapshot, name="pong")
    assert ponged.variables["pong_ran"] is True
    assert ponged.active_activities == ["sub", "stop", "stop_review"]
    assert _signals(ponged) == [("pong_start", "pong")]


# -- a running non-interrupting handler ---------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["stop", "timer"])
def test_interrupting_event_sub_process_cancels_a_running_non_interrupting_one_of_the_process(
        engine: Engine, trigger: str) -> None:
    stop = _handler("stop", trigger, interrupting=True, review=True)
    source = _process(stop, _handler("ping", "ping", interrupting=False, review=True))
    started = engine.start(source, variables=START)
    pinged = engine.deliver_signal(source, started.snapshot, name="ping")
    assert {"work", "ping_review"} <= set(pinged.active_activities)
    if trigger == "timer":
        stopped = engine.fire_due_timers(source, pinged.snapshot, now=datetime.now(UTC) + timedelta(hours=2))
    else:
        stopped = _stop(engine, source, pinged)
    assert stopped.active_activities == ["stop", "stop_review"]
    assert sorted(stopped.work_items_closed) == sorted([_item(started, "work"), _item(pinged, "ping_review")])
    done = _finish(engine, source, stopped, stopped)
    assert done.status == "completed", done.incidents
    assert "ping_ran" not in done.variables


def test_interrupting_event_sub_process_of_a_sub_process_cancels_only_the_sub_process_handlers(
        engine: Engine) -> None:
    source = _in_sub_process(_stop_handler(), _handler("ping", "ping", interrupting=False, review=True),
                             outer=_handler("pong", "pong", interrupting=False, review=True))
    started = engine.start(source, variables=START)
    pinged = engine.deliver_signal(source, started.snapshot, name="ping")
    ponged = engine.deliver_signal(source, pinged.snapshot, name="pong")
    stopped = _stop(engine, source, ponged)
    assert sorted(stopped.work_items_closed) == sorted([_item(started, "sub_work"), _item(pinged, "ping_review")])
    assert "ping" not in stopped.active_activities and "pong_review" in stopped.active_activities
    later = _finish(engine, source, stopped, stopped)
    assert later.active_activities == ["later", "pong", "pong_review"], later.incidents
    pong_done = _finish(engine, source, later, ponged, "pong_review")
    assert pong_done.variables["pong_ran"] is True and "ping_ran" not in pong_done.variables


# -- timers and conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize("in_sub_process", [False, True])
def test_timer_event_sub_process_of_an_interrupted_scope_does_not_fire(engine: Engine, in_sub_process: bool) -> None:
    handlers = (_stop_handler(), _handler("tick", "timer", interrupting=False))
    source = _in_sub_process(*handlers) if in_sub_process else _process(*handlers)
    started = engine.start(source, variables=START)
    assert started.next_timer_at is not None
    stopped = _stop(engine, source, started)
    assert stopped.next_timer_at is None
    later = engine.fire_due_timers(source, stopped.snapshot, now=datetime.now(UTC) + timedelta(hours=2))
    assert "tick_script" not in later.completed_activities
    assert later.active_activities[-2:] == ["stop", "stop_review"]


@pytest.mark.parametrize("in_sub_process", [False, True])
def test_condition_that_holds_with_the_interruption_does_not_start_another_event_sub_process(
        engine: Engine, in_sub_process: bool) -> None:
    """Both conditions become true in one step: the interrupting handler (first in the model) fires
    as it starts, and the non-interrupting one, evaluated next, must not start beside it."""
    stop = _handler("stop", "condition", interrupting=True, review=True)
    watch = _handler("watch", "condition", interrupting=False, review=True)
    if in_sub_process:
        source = _valid(f"""<bpmn:startEvent id="start"/><bpmn:subProcess id="sub"><bpmn:startEvent id="s_start"/>
  {script("main", "level = 2")}<bpmn:userTask id="sub_work"/><bpmn:endEvent id="s_end"/>
  {chain("s_start", "main", "sub_work", "s_end")}{stop}{watch}</bpmn:subProcess>
  <bpmn:userTask id="later"/><bpmn:endEvent id="end"/>{chain("start", "sub", "later", "end")}""")
    else:
        source = _process(stop, watch, main="level = 2")
    started = engine.start(source, variables={"level": 0})
    assert "stop_review" in started.active_activities, started.incidents
    assert "watch" not in started.active_activities
    assert [w.activity_id for w in started.work_items_opened] == ["stop_review"]
    done = _finish(engine, source, started, started)
    assert "watch_ran" not in done.variables


# -- errors -------------------------------------------------------------------------------------------


def test_error_thrown_by_the_interrupting_handler_skips_the_other_event_sub_processes_of_its_scope(
        engine: Engine) -> None:
    """The interrupting handler ends with an error: the scope's own error event sub-process does not
    start (the scope is being interrupted); the error boundary event of the sub-process catches it."""
    failing_stop = _handler("stop", "stop", interrupting=True, review=True, end=TRIGGERS["failure"])
    catch_failure = _handler("rescue", "failure", interrupting=True)
    sub = f"""<bpmn:subProcess id="sub"><bpmn:startEvent id="s_start"/><bpmn:userTask id="sub_work"/>
  <bpmn:endEvent id="s_end"/>{chain("s_start", "sub_work", "s_end")}{failing_stop}{catch_failure}</bpmn:subProcess>
  <bpmn:boundaryEvent id="caught" attachedToRef="sub">{TRIGGERS["failure"]}</bpmn:boundaryEvent>
  {script("after_caught", "boundary_taken = True")}<bpmn:endEvent id="end_caught"/>"""
    source = _valid(f'<bpmn:startEvent id="start"/>{sub}<bpmn:userTask id="later"/><bpmn:endEvent id="end"/>'
                    f'{chain("start", "sub", "later", "end")}{chain("caught", "after_caught", "end_caught")}')
    started = engine.start(source, variables=START)
    stopped = _stop(engine, source, started)
    done = _finish(engine, source, stopped, stopped)
    assert done.status == "completed", done.incidents
    assert done.variables.get("boundary_taken") is True
    assert "rescue_ran" not in done.variables


def test_escalation_thrown_by_the_interrupting_handler_does_not_start_a_handler_of_its_scope(
        engine: Engine) -> None:
    escalating_stop = _handler("stop", "stop", interrupting=True, review=True, end=TRIGGERS["alarm"])
    source = _process(escalating_stop, _handler("on_alarm", "alarm", interrupting=False))
    started = engine.start(source, variables=START)
    stopped = _stop(engine, source, started)
    done = _finish(engine, source, stopped, stopped)
    assert done.status == "completed", done.incidents
    assert "on_alarm_ran" not in done.variables
    assert "escalation.uncaught" in [event.type for event in done.audit]
