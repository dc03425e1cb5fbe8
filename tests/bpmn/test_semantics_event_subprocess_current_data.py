"""An event sub-process starts from its scope's data as it is when its event fires (Camunda, Flowable).

The handler sees what the main path wrote before the event (not the data its scope started with),
plus the variables a message or signal delivered from outside carries, as an intermediate catch
event would. A non-interrupting handler's changes are still measured against that same starting
copy, and an interrupting handler hands on what the main path wrote before the interruption.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bpmn import Engine, StepResult, validate
from bpmn.types import ModelSource
from tests.bpmn.xml import HEADER, chain, correlated_message, script

PROCESS = "esp_data"
DECLARATIONS = (correlated_message(PROCESS, "poke_message", name="poke")
                + '<bpmn:signal id="poke_signal" name="poke"/>\n')
TRIGGERS = {
    "message": '<bpmn:messageEventDefinition messageRef="poke_message"/>',
    "signal": '<bpmn:signalEventDefinition signalRef="poke_signal"/>',
    "timer": '<bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>',
}
START_DATA = {"order_id": "o-1", "y": "as started"}
WRITE_Y = script("write_y", 'y = "from main"')


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _handler(kind: str, code: str, *, interrupting: bool, review: bool = False) -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    steps = ["h_start", "h_review", "h_script", "h_end"] if review else ["h_start", "h_script", "h_end"]
    review_task = '<bpmn:userTask id="h_review"/>' if review else ""
    return f"""<bpmn:subProcess id="handler" triggeredByEvent="true">
  <bpmn:startEvent id="h_start"{flag}>{TRIGGERS[kind]}</bpmn:startEvent>{review_task}
  {script("h_script", code)}<bpmn:endEvent id="h_end"/>{chain(*steps)}
</bpmn:subProcess>"""


def _valid(body: str) -> ModelSource:
    xml = (f'{HEADER}{DECLARATIONS}<bpmn:process id="{PROCESS}" isExecutable="true">\n{body}\n'
           "</bpmn:process>\n</bpmn:definitions>\n")
    source = ModelSource(filename=f"{PROCESS}.bpmn", content=xml.encode())
    report = validate(source)
    assert report.ok, [p.as_dict() for p in report.errors]
    return source


def _process(handler: str, *, then_work2: bool = False) -> ModelSource:
    """start -> script `write_y` (y = "from main") -> user task `work` [-> user task `work2`] -> end."""
    path = ["start", "write_y", "work", *(["work2"] if then_work2 else []), "end"]
    work2 = '<bpmn:userTask id="work2"/>' if then_work2 else ""
    return _valid(f'<bpmn:startEvent id="start"/>{WRITE_Y}<bpmn:userTask id="work"/>'
                  f'{work2}<bpmn:endEvent id="end"/>{chain(*path)}{handler}')


def _in_sub_process(handler: str) -> ModelSource:
    """The same path inside sub-process `sub`; after it, script `after_sub` copies `y` into `y_after_sub`."""
    sub = f"""<bpmn:subProcess id="sub"><bpmn:startEvent id="s_start"/>{WRITE_Y}
  <bpmn:userTask id="work"/><bpmn:endEvent id="s_end"/>{chain("s_start", "write_y", "work", "s_end")}{handler}
</bpmn:subProcess>{script("after_sub", "y_after_sub = y")}"""
    return _valid(f'<bpmn:startEvent id="start"/>{sub}<bpmn:endEvent id="end"/>'
                  f'{chain("start", "sub", "after_sub", "end")}')


def _fire(engine: Engine, kind: str) -> Callable[..., StepResult]:
    """Fires the handler's event on the instance of a step (from its snapshot), with `variables`."""
    def fire(source: ModelSource, step: StepResult, **variables: object) -> StepResult:
        if kind == "timer":
            return engine.fire_due_timers(source, step.snapshot, now=datetime.now(UTC) + timedelta(hours=3))
        if kind == "signal":
            return engine.deliver_signal(source, step.snapshot, name="poke", variables=variables)
        return engine.deliver_message(source, step.snapshot, name="poke", correlation={"order_id": "o-1"},
                                      variables=variables)
    return fire


def _item(step: StepResult, activity: str) -> str:
    return next(w.id for w in step.work_items_opened if w.activity_id == activity)


def _complete(engine: Engine, source: ModelSource, step: StepResult, item_id: str,
              variables: dict[str, object] | None = None) -> StepResult:
    return engine.complete_work_item(source, step.snapshot, work_item_id=item_id, variables=variables)


# -- the handler reads the scope's current data --------------------------------------------------------


@pytest.mark.parametrize("interrupting", [True, False])
@pytest.mark.parametrize("kind", ["message", "signal", "timer"])
def test_handler_reads_what_the_main_path_wrote_before_the_event(
        engine: Engine, kind: str, interrupting: bool) -> None:
    source = _process(_handler(kind, "y_seen_by_handler = y", interrupting=interrupting))
    started = engine.start(source, variables=START_DATA)
    fired = _fire(engine, kind)(source, started)
    assert "h_script" in fired.completed_activities, fired.incidents
    assert fired.variables["y_seen_by_handler"] == "from main"


@pytest.mark.parametrize("kind", ["message", "signal", "timer"])
def test_handler_in_a_sub_process_reads_what_the_sub_process_wrote_before_the_event(
        engine: Engine, kind: str) -> None:
    source = _in_sub_process(_handler(kind, "y_seen_by_handler = y", interrupting=False))
    started = engine.start(source, variables=START_DATA)
    fired = _fire(engine, kind)(source, started)
    assert fired.variables["y_seen_by_handler"] == "from main"


def test_second_message_handler_sees_what_the_first_one_wrote(engine: Engine) -> None:
    source = _process(_handler("message", "pokes = pokes + 1", interrupting=False))
    started = engine.start(source, variables={**START_DATA, "pokes": 0})
    fire = _fire(engine, "message")
    twice = fire(source, fire(source, started))
    done = _complete(engine, source, twice, _item(started, "work"))
    assert done.status == "completed", done.incidents
    assert done.variables["pokes"] == 2


@pytest.mark.parametrize("kind", ["message", "signal"])
@pytest.mark.parametrize("interrupting", [True, False])
def test_variables_delivered_with_the_event_reach_the_handler(engine: Engine, kind: str, interrupting: bool) -> None:
    source = _process(_handler(kind, "reason_seen = reason", interrupting=interrupting))
    started = engine.start(source, variables=START_DATA)
    fired = _fire(engine, kind)(source, started, reason="customer called", y="from the event")
    assert fired.variables["reason_seen"] == "customer called"
    # Like a catch event's: the delivered variables win over the scope's data.
    assert fired.variables["y"] == "from the event"


def test_signal_variables_reach_a_handler_in_a_sub_process(engine: Engine) -> None:
    source = _in_sub_process(_handler("signal", "reason_seen = reason", interrupting=True))
    started = engine.start(source, variables=START_DATA)
    fired = _fire(engine, "signal")(source, started, reason="customer called")
    assert fired.status == "completed", fired.incidents
    assert fired.variables["reason_seen"] == "customer called"


def test_main_path_write_while_the_handler_runs_survives_a_handler_that_did_not_touch_it(engine: Engine) -> None:
    # The handler's changes are measured against the copy it started from, which now holds the main
    # path's "from main": it did not change y, so y keeps the main path's later write.
    source = _process(_handler("message", "z = 1", interrupting=False, review=True), then_work2=True)
    started = engine.start(source, variables=START_DATA)
    fired = _fire(engine, "message")(source, started)
    worked = _complete(engine, source, fired, _item(started, "work"), {"y": "later"})
    handled = _complete(engine, source, worked, _item(fired, "h_review"))
    done = _complete(engine, source, handled, _item(worked, "work2"))
    assert done.status == "completed", done.incidents
    assert (done.variables["y"], done.variables["z"]) == ("later", 1)


# -- an interrupting handler hands on what the main path wrote -----------------------------------------


@pytest.mark.parametrize("kind", ["message", "signal", "timer"])
def test_interrupting_handler_keeps_what_the_main_path_wrote_before_the_interruption(
        engine: Engine, kind: str) -> None:
    source = _process(_handler(kind, 'h = "from handler"', interrupting=True))
    started = engine.start(source, variables=START_DATA)
    fired = _fire(engine, kind)(source, started)
    assert fired.status == "completed", fired.incidents
    assert "end" not in fired.completed_activities
    assert (fired.variables["y"], fired.variables["h"]) == ("from main", "from handler")


@pytest.mark.parametrize("kind", ["message", "signal", "timer"])
def test_interrupting_handler_of_a_sub_process_hands_the_main_path_writes_on_after_the_sub_process(
        engine: Engine, kind: str) -> None:
    source = _in_sub_process(_handler(kind, 'h = "from handler"', interrupting=True))
    started = engine.start(source, variables=START_DATA)
    fired = _fire(engine, kind)(source, started)
    assert fired.status == "completed", fired.incidents
    assert (fired.variables["y_after_sub"], fired.variables["h"]) == ("from main", "from handler")
