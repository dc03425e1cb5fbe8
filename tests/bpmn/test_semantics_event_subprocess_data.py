"""A non-interrupting event sub-process shares its scope's variables (Camunda's and Flowable's scoping).

What it writes reaches the rest of its scope (the process, or the sub-process it is nested in, and
so what follows that sub-process); of two writes to one variable, the one that completes later wins;
a variable it did not change keeps what the main path wrote meanwhile. Every engine command here
restores the instance from the previous step's snapshot, so the handler's starting copy of the data
(what its changes are measured against) has to survive a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bpmn import Engine, StepResult, validate
from bpmn.types import ModelSource
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
DECLARATIONS = '<bpmn:signal id="poke_signal" name="poke"/>\n<bpmn:escalation id="esc" escalationCode="X1"/>\n'
ON_TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>'
ON_SIGNAL = '<bpmn:signalEventDefinition signalRef="poke_signal"/>'
ON_ESCALATION = '<bpmn:escalationEventDefinition escalationRef="esc"/>'
ESCALATE = f'<bpmn:intermediateThrowEvent id="escalate">{ON_ESCALATION}</bpmn:intermediateThrowEvent>'
TRIGGERS = {"timer": ON_TIMER, "signal": ON_SIGNAL}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _handler(definition: str, code: str, *, interrupting: bool = False, review: bool = False) -> str:
    """An event sub-process started by `definition` that runs script `code`; with `review` it first
    waits at its own user task `h_review` (so it runs across snapshots)."""
    flag = "" if interrupting else ' isInterrupting="false"'
    review_task = '<bpmn:userTask id="h_review"/>' if review else ""
    steps = ["h_start", "h_review", "h_script", "h_end"] if review else ["h_start", "h_script", "h_end"]
    return f"""<bpmn:subProcess id="handler" triggeredByEvent="true">
  <bpmn:startEvent id="h_start"{flag}>{definition}</bpmn:startEvent>
  {review_task}{script("h_script", code)}<bpmn:endEvent id="h_end"/>
  {chain(*steps)}
</bpmn:subProcess>"""


def _process(elements: str, path: list[str], handler: str) -> ModelSource:
    """A process running `elements` along `path` (between `start` and `end`) beside `handler`."""
    source = model(f"{START}{elements}{END}{chain('start', *path, 'end')}{handler}", extra=DECLARATIONS)
    _assert_valid(source)
    return source


def _in_sub_process(elements: str, path: list[str], handler: str) -> ModelSource:
    """Like `_process`, but `elements`, `path` and `handler` form sub-process `sub`; after it, script
    `after_sub` copies `x` into `seen_after_sub`."""
    sub = f"""<bpmn:subProcess id="sub">
  <bpmn:startEvent id="s_start"/>{elements}<bpmn:endEvent id="s_end"/>{chain("s_start", *path, "s_end")}
  {handler}
</bpmn:subProcess>{script("after_sub", "seen_after_sub = x")}"""
    source = model(f"{START}{sub}{END}{chain('start', 'sub', 'after_sub', 'end')}", extra=DECLARATIONS)
    _assert_valid(source)
    return source


def _assert_valid(source: ModelSource) -> None:
    report = validate(source)
    assert report.ok, [p.as_dict() for p in report.errors]


def _trigger(engine: Engine, kind: str) -> Callable[[ModelSource, StepResult], StepResult]:
    """Fires the handler's start event of `kind` on the instance of a step, from its snapshot."""
    def fire(source: ModelSource, step: StepResult) -> StepResult:
        if kind == "timer":
            return engine.fire_due_timers(source, step.snapshot, now=datetime.now(UTC) + timedelta(hours=3))
        return engine.deliver_signal(source, step.snapshot, name="poke")
    return fire


def _item(step: StepResult, activity: str) -> str:
    """The id of the work item of `activity` that the step opened."""
    [item] = [w for w in step.work_items_opened if w.activity_id == activity]
    return item.id


def _complete(engine: Engine, source: ModelSource, step: StepResult, item_id: str,
              variables: dict[str, object] | None = None) -> StepResult:
    """Complete a work item on the instance as the step left it (restored from its snapshot)."""
    return engine.complete_work_item(source, step.snapshot, work_item_id=item_id, variables=variables)


# -- what the handler writes reaches the rest of its scope ------------------------------------------


@pytest.mark.parametrize("kind", ["timer", "signal"])
def test_handler_write_is_seen_by_a_later_step_of_the_process(engine: Engine, kind: str) -> None:
    source = _process(f'<bpmn:userTask id="work"/>{script("after", "seen = x")}', ["work", "after"],
                      _handler(TRIGGERS[kind], 'x = "from handler"'))
    started = engine.start(source)
    fired = _trigger(engine, kind)(source, started)
    assert "h_script" in fired.completed_activities
    done = _complete(engine, source, fired, _item(started, "work"))
    assert done.status == "completed", done.incidents
    assert done.variables["seen"] == done.variables["x"] == "from handler"


def test_timer_handler_write_replaces_the_value_the_process_started_with(engine: Engine) -> None:
    # The timer's event sub-process joins the end like a branch; the main path, arriving last,
    # used to bring back the value it had started with.
    source = _process('<bpmn:userTask id="work"/>', ["work"], _handler(ON_TIMER, 'reminder = "sent"'))
    started = engine.start(source, variables={"reminder": "none"})
    fired = _trigger(engine, "timer")(source, started)
    done = _complete(engine, source, fired, _item(started, "work"))
    assert done.status == "completed"
    assert done.variables["reminder"] == "sent"


def test_escalation_handler_write_is_seen_by_the_rest_of_the_process(engine: Engine) -> None:
    source = _process(f'{ESCALATE}{script("after", "seen = x")}', ["escalate", "after"],
                      _handler(ON_ESCALATION, "x = 1"))
    result = engine.start(source)
    assert result.status == "completed", result.incidents
    assert result.variables["seen"] == result.variables["x"] == 1


def test_escalation_handler_in_a_sub_process_writes_to_the_sub_process_output(engine: Engine) -> None:
    # The handler runs beside the sub-process's path: its write lands when it completes, which may
    # be after the step following the throw, but always before the sub-process hands its data on.
    source = _in_sub_process(ESCALATE, ["escalate"], _handler(ON_ESCALATION, "x = 1"))
    result = engine.start(source)
    assert result.status == "completed", result.incidents
    assert result.variables["seen_after_sub"] == 1


@pytest.mark.parametrize("kind", ["timer", "signal"])
def test_handler_in_a_sub_process_writes_to_the_sub_process_output_across_snapshots(
        engine: Engine, kind: str) -> None:
    source = _in_sub_process(f'<bpmn:userTask id="work"/>{script("s_after", "seen_in_sub = x")}',
                             ["work", "s_after"], _handler(TRIGGERS[kind], "x = 1"))
    started = engine.start(source)
    fired = _trigger(engine, kind)(source, started)
    assert "h_script" in fired.completed_activities
    done = _complete(engine, source, fired, _item(started, "work"))
    assert done.status == "completed", done.incidents
    assert done.variables["seen_in_sub"] == done.variables["seen_after_sub"] == 1


def test_handler_deleting_a_variable_deletes_it_from_its_scope(engine: Engine) -> None:
    source = _process('<bpmn:userTask id="work"/>', ["work"], _handler(ON_SIGNAL, "del draft"))
    started = engine.start(source, variables={"draft": "text"})
    fired = _trigger(engine, "signal")(source, started)
    done = _complete(engine, source, fired, _item(started, "work"))
    assert done.status == "completed"
    assert "draft" not in done.variables


# -- conflicting writes: the later completion wins; nothing stale comes back ------------------------


def test_handler_completing_after_a_main_path_write_wins(engine: Engine) -> None:
    source = _process(f'{script("set", "status = 1")}<bpmn:userTask id="work"/>', ["set", "work"],
                      _handler(ON_SIGNAL, "status = 2"))
    started = engine.start(source)
    fired = _trigger(engine, "signal")(source, started)
    done = _complete(engine, source, fired, _item(started, "work"))
    assert done.variables["status"] == 2


def test_main_path_write_after_the_handler_completed_wins(engine: Engine) -> None:
    source = _process(f'<bpmn:userTask id="work"/>{script("set", "status = 1")}', ["work", "set"],
                      _handler(ON_SIGNAL, "status = 2\nx = 1"))
    started = engine.start(source)
    fired = _trigger(engine, "signal")(source, started)
    done = _complete(engine, source, fired, _item(started, "work"))
    assert done.variables["status"] == 1
    assert done.variables["x"] == 1  # the handler's other write is kept


def test_work_item_answer_after_the_handler_completed_wins(engine: Engine) -> None:
    source = _process('<bpmn:userTask id="work"/>', ["work"], _handler(ON_SIGNAL, "status = 2\nx = 1"))
    started = engine.start(source)
    fired = _trigger(engine, "signal")(source, started)
    done = _complete(engine, source, fired, _item(started, "work"), {"status": 1})
    assert done.variables["status"] == 1 and done.variables["x"] == 1


@pytest.mark.parametrize("kind", ["timer", "signal"])
def test_main_path_writes_made_while_the_handler_ran_are_not_overwritten(engine: Engine, kind: str) -> None:
    # The handler waits at its own user task while the main path changes `y` and finishes; the
    # handler then completes last, with its stale copy of `y`, and must only hand on what it changed.
    source = _process('<bpmn:userTask id="work"/>', ["work"], _handler(TRIGGERS[kind], "x = y + 1", review=True))
    started = engine.start(source, variables={"y": 1})
    fired = _trigger(engine, kind)(source, started)
    main_done = _complete(engine, source, fired, _item(started, "work"), {"y": 10})
    assert main_done.status == "waiting"
    done = _complete(engine, source, main_done, _item(fired, "h_review"))
    assert done.status == "completed", done.incidents
    assert done.variables["y"] == 10
    assert done.variables["x"] == 2  # computed on the handler's copy: it started before y changed


def test_main_path_writes_in_a_sub_process_made_while_the_handler_ran_are_not_overwritten(
        engine: Engine) -> None:
    source = _in_sub_process('<bpmn:userTask id="work"/>', ["work"], _handler(ON_SIGNAL, "x = 1", review=True))
    started = engine.start(source, variables={"y": 1})
    fired = _trigger(engine, "signal")(source, started)
    main_done = _complete(engine, source, fired, _item(started, "work"), {"y": 10})
    assert main_done.status == "waiting"
    done = _complete(engine, source, main_done, _item(fired, "h_review"))
    assert done.status == "completed", done.incidents
    assert done.variables["y"] == 10 and done.variables["seen_after_sub"] == 1


# -- interrupting event sub-processes keep handing their data on ------------------------------------


def test_interrupting_handler_write_reaches_the_process_end(engine: Engine) -> None:
    source = _process('<bpmn:userTask id="work"/>', ["work"], _handler(ON_SIGNAL, "x = 1", interrupting=True))
    started = engine.start(source)
    done = _trigger(engine, "signal")(source, started)
    assert done.status == "completed"
    assert done.variables["x"] == 1
