"""Complex gateways and `startQuantity` (SpiffWorkflow 3.2.0 has neither)."""

from __future__ import annotations

import pytest

from bpmn import Engine, StepResult, validate
from bpmn.types import ModelSource
from tests.bpmn.xml import chain, flow, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _user(task_id: str) -> str:
    return f'<bpmn:userTask id="{task_id}"/>'


def _complete(engine: Engine, source: ModelSource, snapshot: str, opened: StepResult, activity: str) -> StepResult:
    """Complete the work item of `activity` that `opened` reported, on the instance state `snapshot`."""
    item = next(w for w in opened.work_items_opened if w.activity_id == activity)
    return engine.complete_work_item(source, snapshot, work_item_id=item.id)


def _discriminator(condition: str) -> ModelSource:
    return model(f"""{START}<bpmn:parallelGateway id="fork"/>{_user("a")}{_user("b")}{_user("c")}
<bpmn:complexGateway id="join"><bpmn:activationCondition>{condition}</bpmn:activationCondition></bpmn:complexGateway>
{script("after", "runs = runs + 1")}{END}
{chain("start", "fork")}{chain("fork", "a", "join")}{chain("fork", "b", "join")}{chain("fork", "c", "join")}
{chain("join", "after", "end")}""")


def test_complex_join_activates_once_at_its_condition_then_swallows_the_rest(engine: Engine) -> None:
    source = _discriminator("activationCount &gt;= 2")
    assert validate(source).errors == ()
    started = engine.start(source, variables={"runs": 0})
    first = _complete(engine, source, started.snapshot, started, "a")
    assert "after" not in first.completed_activities and first.status == "waiting"
    # The join's count lives in the snapshot: the second token activates it.
    second = _complete(engine, source, first.snapshot, started, "b")
    assert "after" in second.completed_activities
    last = _complete(engine, source, second.snapshot, started, "c")
    assert last.status == "completed"
    assert "after" not in last.completed_activities
    assert last.variables["runs"] == 1


def test_complex_split_behaves_like_an_inclusive_split_with_default() -> None:
    engine = Engine()
    source = model(f"""{START}<bpmn:complexGateway id="split" default="f_other"/>
{script("x", "x = 1")}{script("y", "y = 1")}{script("other", "other = 1")}
<bpmn:complexGateway id="join"/>{END}
{chain("start", "split")}{flow("f_x", "split", "x", "n &gt; 1")}{flow("f_y", "split", "y", "n &gt; 2")}
{flow("f_other", "split", "other")}{chain("x", "join")}{chain("y", "join")}{chain("other", "join")}
{chain("join", "end")}""")
    assert validate(source).errors == ()
    both = engine.start(source, variables={"n": 3})
    assert both.status == "completed"
    assert {"x", "y"} <= set(both.completed_activities) and "other" not in both.completed_activities
    fallback = engine.start(source, variables={"n": 0})
    assert fallback.status == "completed" and "other" in fallback.completed_activities


def test_start_quantity_waits_for_that_many_tokens(engine: Engine) -> None:
    source = model(f"""{START}<bpmn:parallelGateway id="fork"/>{_user("a")}{_user("b")}
<bpmn:scriptTask id="both" startQuantity="2"><bpmn:script>done = True</bpmn:script></bpmn:scriptTask>{END}
{chain("start", "fork")}{chain("fork", "a", "both")}{chain("fork", "b", "both")}{chain("both", "end")}""")
    assert validate(source).errors == ()
    started = engine.start(source)
    one = _complete(engine, source, started.snapshot, started, "a")
    assert one.status == "waiting" and "both" not in one.completed_activities
    assert not any("__pb_" in a for a in one.active_activities)
    two = _complete(engine, source, one.snapshot, started, "b")
    assert two.status == "completed"
    assert two.completed_activities.count("both") == 1


def test_start_quantity_two_with_one_token_never_starts(engine: Engine) -> None:
    source = model(f"""{START}{script("first", "a = 1")}
<bpmn:scriptTask id="second" startQuantity="2"><bpmn:script>b = 1</bpmn:script></bpmn:scriptTask>{END}
{chain("start", "first", "second", "end")}""")
    result = engine.start(source)
    assert result.status == "waiting"
    assert "second" not in result.completed_activities
