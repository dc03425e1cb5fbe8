"""A signal reaches every scope of the instance that waits for it (BPMN 2.0.2 10.5.1; Camunda, Flowable).

Delivered from outside (`Engine.deliver_signal`) or thrown inside the instance, a signal starts the
matching event sub-process of the process and of each running sub-process, besides the catch and
boundary events waiting for it, not only the innermost one nor only when nothing else caught it. A
sub-process that has completed, or not started yet, waits for nothing. An interrupting handler ends
only its own scope (and the scopes inside it), and its scope goes on after the handler.

Every step goes through the `Engine` API, so each one restores the instance from the previous
step's snapshot.
"""

from __future__ import annotations

import pytest

from bpmn import Engine, StepResult, validate
from bpmn.types import ModelSource
from tests.bpmn.xml import chain, model, script

SIGNAL = '<bpmn:signal id="go_signal" name="go"/>\n'
ON_GO = '<bpmn:signalEventDefinition signalRef="go_signal"/>'
RUNS = {"outer_runs": 0, "inner_runs": 0}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _handler(name: str, *, interrupting: bool) -> str:
    """Event sub-process `name` started by signal `go`; its script counts its runs in `<name>_runs`."""
    flag = "" if interrupting else ' isInterrupting="false"'
    return f"""<bpmn:subProcess id="{name}" triggeredByEvent="true">
  <bpmn:startEvent id="{name}_start"{flag}>{ON_GO}</bpmn:startEvent>
  {script(f"{name}_script", f"{name}_runs = {name}_runs + 1")}<bpmn:endEvent id="{name}_end"/>
  {chain(f"{name}_start", f"{name}_script", f"{name}_end")}
</bpmn:subProcess>"""


def _sub(sub_id: str, inside: str, *, body: str = "user") -> str:
    """Sub-process `sub_id` whose path runs user task `<sub_id>_work` (or, with body="script", a
    script), beside `inside` (event sub-processes or more elements)."""
    work = (f'<bpmn:userTask id="{sub_id}_work"/>' if body == "user"
            else script(f"{sub_id}_work", f"{sub_id}_done = True"))
    return f"""<bpmn:subProcess id="{sub_id}"><bpmn:startEvent id="{sub_id}_start"/>{work}
  <bpmn:endEvent id="{sub_id}_end"/>{chain(f"{sub_id}_start", f"{sub_id}_work", f"{sub_id}_end")}{inside}
</bpmn:subProcess>"""


def _valid(body: str) -> ModelSource:
    source = model(body, key="signal_esp", extra=SIGNAL)
    report = validate(source)
    assert report.ok, [p.as_dict() for p in report.errors]
    return source


def _sub_then_later(*, inner_interrupting: bool, outer: str = "") -> ModelSource:
    """start -> sub-process `sub` (user task `sub_work`, handler `inner`) -> user task `later` -> end,
    beside `outer` (event sub-processes of the process)."""
    sub = _sub("sub", _handler("inner", interrupting=inner_interrupting))
    return _valid(f'<bpmn:startEvent id="start"/>{sub}<bpmn:userTask id="later"/><bpmn:endEvent id="end"/>'
                  f'{chain("start", "sub", "later", "end")}{outer}')


def _item(step: StepResult, activity: str) -> str:
    return next(w.id for w in step.work_items_opened if w.activity_id == activity)


def _subscribed(step: StepResult) -> set[str]:
    return {s.activity_id for s in step.signal_subscriptions}


# -- (a) the process and every running sub-process --------------------------------------------------


SHOUTERS = {
    "throw_event": f'<bpmn:intermediateThrowEvent id="shout">{ON_GO}</bpmn:intermediateThrowEvent>'
                   '<bpmn:endEvent id="shouted"/>' + chain("shout", "shouted"),
    "end_event": f'<bpmn:endEvent id="shout">{ON_GO}</bpmn:endEvent>',
}


def _signalled(engine: Engine, source: ModelSource, step: StepResult, how: str) -> StepResult:
    """`step` after signal `go`: delivered from outside, or thrown at the process level once the
    user task `cue` (in a branch beside the sub-process) completes."""
    if how == "delivered":
        return engine.deliver_signal(source, step.snapshot, name="go")
    return engine.complete_work_item(source, step.snapshot, work_item_id=_item(step, "cue"))


@pytest.mark.parametrize("how", ["delivered", "throw_event", "end_event"])
def test_signal_starts_the_handlers_of_the_process_and_of_a_running_sub_process(engine: Engine, how: str) -> None:
    sub = _sub("sub", _handler("inner", interrupting=False))
    shouter = (f'<bpmn:parallelGateway id="fork"/><bpmn:userTask id="cue"/>{SHOUTERS[how]}'
               f'{chain("start", "fork", "sub")}{chain("fork", "cue", "shout")}'
               if how != "delivered" else chain("start", "sub"))
    source = _valid(f'<bpmn:startEvent id="start"/>{sub}<bpmn:endEvent id="end"/>{shouter}{chain("sub", "end")}'
                    f'{_handler("outer", interrupting=False)}')
    started = engine.start(source, variables=RUNS)
    assert _subscribed(started) == {"outer_start", "inner_start"}
    signalled = _signalled(engine, source, started, how)
    assert signalled.variables["outer_runs"] == 1
    assert signalled.variables["inner_runs"] == 1
    assert "sub_work" in signalled.active_activities  # non-interrupting: the sub-process runs on
    if how == "delivered":
        assert [s.name for s in signalled.signals_thrown] == []  # a delivered signal is not thrown again
    else:
        assert [s.name for s in signalled.signals_thrown] == ["go"]
    done = engine.complete_work_item(source, signalled.snapshot, work_item_id=_item(started, "sub_work"))
    assert done.status == "completed", done.incidents
    assert (done.variables["outer_runs"], done.variables["inner_runs"]) == (1, 1)


def test_signal_starts_the_handlers_of_every_nested_sub_process_not_only_the_innermost(engine: Engine) -> None:
    inner_sub = _sub("inner_sub", _handler("inner", interrupting=False))
    outer_sub = f"""<bpmn:subProcess id="outer_sub"><bpmn:startEvent id="os_start"/>{inner_sub}
  <bpmn:endEvent id="os_end"/>{chain("os_start", "inner_sub", "os_end")}{_handler("outer", interrupting=False)}
</bpmn:subProcess>"""
    source = _valid(f'<bpmn:startEvent id="start"/>{outer_sub}<bpmn:endEvent id="end"/>'
                    f'{chain("start", "outer_sub", "end")}')
    started = engine.start(source, variables=RUNS)
    signalled = engine.deliver_signal(source, started.snapshot, name="go")
    assert (signalled.variables["outer_runs"], signalled.variables["inner_runs"]) == (1, 1)
    again = engine.deliver_signal(source, signalled.snapshot, name="go")
    done = engine.complete_work_item(source, again.snapshot, work_item_id=_item(started, "inner_sub_work"))
    assert done.status == "completed", done.incidents
    assert (done.variables["outer_runs"], done.variables["inner_runs"]) == (2, 2)


# -- (b) interrupting and non-interrupting handlers of a sub-process --------------------------------


def test_interrupting_handler_of_a_sub_process_ends_only_that_sub_process(engine: Engine) -> None:
    source = _sub_then_later(inner_interrupting=True, outer=_handler("outer", interrupting=False))
    started = engine.start(source, variables=RUNS)
    signalled = engine.deliver_signal(source, started.snapshot, name="go")
    assert signalled.work_items_closed == [_item(started, "sub_work")]
    # The process goes on after the sub-process, through its handler; the process's handler ran too.
    assert signalled.active_activities == ["later"]
    assert (signalled.variables["outer_runs"], signalled.variables["inner_runs"]) == (1, 1)
    assert _subscribed(signalled) == {"outer_start"}
    done = engine.complete_work_item(source, signalled.snapshot, work_item_id=_item(signalled, "later"))
    assert done.status == "completed", done.incidents
    assert "sub_work" not in done.completed_activities


def test_non_interrupting_handler_of_a_sub_process_runs_beside_it_for_every_signal(engine: Engine) -> None:
    source = _sub_then_later(inner_interrupting=False, outer=_handler("outer", interrupting=False))
    started = engine.start(source, variables=RUNS)
    once = engine.deliver_signal(source, started.snapshot, name="go")
    twice = engine.deliver_signal(source, once.snapshot, name="go")
    assert twice.active_activities == ["sub", "sub_work"]
    assert (twice.variables["outer_runs"], twice.variables["inner_runs"]) == (2, 2)
    later = engine.complete_work_item(source, twice.snapshot, work_item_id=_item(started, "sub_work"))
    assert later.active_activities == ["later"]
    assert later.variables["inner_runs"] == 2  # what the handler wrote is handed on with the sub-process


def test_interrupting_handler_of_the_process_ends_the_sub_process_before_its_handler_starts(
        engine: Engine) -> None:
    source = _sub_then_later(inner_interrupting=False, outer=_handler("outer", interrupting=True))
    started = engine.start(source, variables=RUNS)
    signalled = engine.deliver_signal(source, started.snapshot, name="go")
    assert signalled.status == "completed", signalled.incidents
    assert (signalled.variables["outer_runs"], signalled.variables["inner_runs"]) == (1, 0)


# -- (c) only running sub-processes -----------------------------------------------------------------


def test_completed_and_not_yet_started_sub_processes_do_not_catch_the_signal(engine: Engine) -> None:
    first = _sub("first", _handler("first_handler", interrupting=False), body="script")
    second = _sub("second", _handler("second_handler", interrupting=False))
    third = _sub("third", _handler("third_handler", interrupting=False))
    source = _valid(f'<bpmn:startEvent id="start"/>{first}{second}{third}<bpmn:endEvent id="end"/>'
                    f'{chain("start", "first", "second", "third", "end")}{_handler("outer", interrupting=False)}')
    counts = {f"{name}_runs": 0 for name in ("first_handler", "second_handler", "third_handler", "outer")}
    started = engine.start(source, variables=counts)
    assert _subscribed(started) == {"outer_start", "second_handler_start"}
    signalled = engine.deliver_signal(source, started.snapshot, name="go")
    third_running = engine.complete_work_item(source, signalled.snapshot, work_item_id=_item(started, "second_work"))
    assert third_running.active_activities == ["third", "third_work"]
    runs = {name: third_running.variables[name] for name in counts}
    assert runs == {"first_handler_runs": 0, "second_handler_runs": 1, "third_handler_runs": 0, "outer_runs": 1}


# -- (d) catch and boundary events still get it -----------------------------------------------------


def test_signal_reaches_catch_and_boundary_events_beside_the_sub_process_handler(engine: Engine) -> None:
    # Inside `sub`: user task `sub_work` with a non-interrupting boundary event, and in a parallel
    # branch an intermediate catch event; on `sub` itself, a non-interrupting boundary event.
    sub = f"""<bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start"/><bpmn:parallelGateway id="sub_fork"/>
  <bpmn:userTask id="sub_work"/><bpmn:endEvent id="sub_end"/>
  <bpmn:boundaryEvent id="nudge" attachedToRef="sub_work" cancelActivity="false">{ON_GO}</bpmn:boundaryEvent>
  {script("nudged", "nudged = True")}<bpmn:endEvent id="nudged_end"/>
  <bpmn:intermediateCatchEvent id="hear">{ON_GO}</bpmn:intermediateCatchEvent>
  {script("heard", "heard = True")}<bpmn:endEvent id="heard_end"/>
  {chain("sub_start", "sub_fork", "sub_work", "sub_end")}{chain("sub_fork", "hear", "heard", "heard_end")}
  {chain("nudge", "nudged", "nudged_end")}{_handler("inner", interrupting=False)}
</bpmn:subProcess>"""
    source = _valid(f"""<bpmn:startEvent id="start"/>{sub}<bpmn:endEvent id="end"/>{chain("start", "sub", "end")}
<bpmn:boundaryEvent id="outer_nudge" attachedToRef="sub" cancelActivity="false">{ON_GO}</bpmn:boundaryEvent>
{script("outer_nudged", "outer_nudged = True")}<bpmn:endEvent id="outer_nudged_end"/>
{chain("outer_nudge", "outer_nudged", "outer_nudged_end")}""")
    started = engine.start(source, variables=RUNS)
    assert _subscribed(started) == {"nudge", "hear", "outer_nudge", "inner_start"}
    signalled = engine.deliver_signal(source, started.snapshot, name="go")
    assert {"nudged", "heard", "outer_nudged", "inner_script"} <= set(signalled.completed_activities)
    assert signalled.variables["inner_runs"] == 1
    # Non-interrupting handlers and boundary events wait for the next one (`hear` caught it and moved on).
    assert signalled.active_activities == ["sub", "outer_nudge", "sub_work", "nudge"]
    assert _subscribed(signalled) == {"nudge", "outer_nudge", "inner_start"}
