"""The engine facade: commands in, `StepResult` out, snapshots round-tripping at every wait state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bpmn import CommandRejected, Engine, ExpressionError, StepFailed
from tests.bpmn.xml import chain, flow, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


GATEWAYS = model(f"""
{START}
{script("set_amount", "amount = amount * 2")}
<bpmn:exclusiveGateway id="check_amount" default="f_small"/>
{script("big_order", "size = 'big'")}
{script("small_order", "size = 'small'")}
<bpmn:exclusiveGateway id="merge"/>
<bpmn:parallelGateway id="split"/>
{script("left", "left_done = True")}
{script("right", "right_done = True")}
<bpmn:parallelGateway id="join"/>
{END}
{chain("start", "set_amount", "check_amount")}
{flow("f_big", "check_amount", "big_order", "amount &gt; 100")}
{flow("f_small", "check_amount", "small_order")}
{chain("big_order", "merge")}
{chain("small_order", "merge")}
{chain("merge", "split")}
{chain("split", "left", "join")}
{chain("split", "right", "join")}
{chain("join", "end")}
""")


def test_start_runs_scripts_and_gateways_to_completion_and_reports_the_path(engine: Engine) -> None:
    result = engine.start(GATEWAYS, variables={"amount": 60})

    assert result.status == "completed"
    assert result.variables["size"] == "big"
    assert result.variables["amount"] == 120
    path = result.completed_activities
    assert path[:4] == ["start", "set_amount", "check_amount", "big_order"]
    assert "small_order" not in path
    assert {"left", "right", "join"} <= set(path)
    assert path[-1] == "end"
    assert path.index("join") > max(path.index("left"), path.index("right"))
    types = [e.type for e in result.audit]
    assert types[0] == "activity.completed"
    assert "instance.started" in types and types[-1] == "instance.completed"


def test_default_flow_is_taken_when_no_condition_holds(engine: Engine) -> None:
    result = engine.start(GATEWAYS, variables={"amount": 10})

    assert result.variables["size"] == "small"
    assert "big_order" not in result.completed_activities


USER_TASK = model(f"""
{START}
<bpmn:userTask id="approve" name="Approve order"/>
{script("after", "approved_twice = approved and True")}
{END}
{chain("start", "approve", "after", "end")}
""")


def test_user_task_opens_a_work_item_and_completing_it_finishes_the_instance(engine: Engine) -> None:
    started = engine.start(USER_TASK, variables={"order": 7})

    assert started.status == "waiting"
    assert started.active_activities == ["approve"]
    [item] = started.work_items_opened
    assert (item.activity_id, item.name, item.kind) == ("approve", "Approve order", "user")

    done = engine.complete_work_item(USER_TASK, started.snapshot, work_item_id=item.id,
                                     variables={"approved": True})

    assert done.status == "completed"
    assert done.work_items_closed == [item.id]
    assert done.variables["approved_twice"] is True
    assert done.variables["order"] == 7
    assert done.completed_activities == ["approve", "after", "end"]


def test_completing_a_work_item_twice_is_rejected_and_changes_nothing(engine: Engine) -> None:
    started = engine.start(USER_TASK)
    [item] = started.work_items_opened
    done = engine.complete_work_item(USER_TASK, started.snapshot, work_item_id=item.id, variables={"approved": 1})

    with pytest.raises(CommandRejected) as err:
        engine.complete_work_item(USER_TASK, done.snapshot, work_item_id=item.id)
    assert err.value.code == "instance_finished"


def test_unknown_work_item_is_rejected(engine: Engine) -> None:
    started = engine.start(USER_TASK)
    with pytest.raises(CommandRejected) as err:
        engine.complete_work_item(USER_TASK, started.snapshot, work_item_id="not-a-task")
    assert err.value.code == "task_not_found"


SERVICE = model(f"""
{START}
<bpmn:serviceTask id="charge">
  <bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="core.echo" resultVariable="charged">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="value" type="int" value="amount * 2"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>
  </bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:boundaryEvent id="declined" attachedToRef="charge">
  <bpmn:errorEventDefinition errorRef="card_declined"/>
</bpmn:boundaryEvent>
{script("handle_decline", "declined = True")}
<bpmn:endEvent id="end_declined"/>
{END}
{chain("start", "charge", "end")}
{chain("declined", "handle_decline", "end_declined")}
""", extra='<bpmn:error id="card_declined" name="card_declined" errorCode="card_declined"/>\n')


def test_service_task_parks_with_evaluated_parameters_and_resumes_with_the_result(engine: Engine) -> None:
    started = engine.start(SERVICE, variables={"amount": 21})

    assert started.status == "waiting"
    [call] = started.service_calls
    assert (call.activity_id, call.operation, call.parameters, call.result_variable) == (
        "charge", "core.echo", {"value": 42}, "charged")

    done = engine.resume_service_task(SERVICE, started.snapshot, call_id=call.id, result={"value": 42})

    assert done.status == "completed"
    assert done.variables["charged"] == {"value": 42}
    assert done.completed_activities == ["charge", "end"]


def test_bpmn_error_from_a_service_task_is_caught_by_its_boundary_event(engine: Engine) -> None:
    started = engine.start(SERVICE, variables={"amount": 1})
    [call] = started.service_calls

    done = engine.fail_service_task(SERVICE, started.snapshot, call_id=call.id, error_code="card_declined")

    assert done.status == "completed"
    assert done.variables["declined"] is True
    assert "handle_decline" in done.completed_activities
    assert "end" not in done.completed_activities


def test_uncaught_bpmn_error_from_a_service_task_fails_the_instance_with_an_incident(engine: Engine) -> None:
    started = engine.start(SERVICE, variables={"amount": 1})
    [call] = started.service_calls

    failed = engine.fail_service_task(SERVICE, started.snapshot, call_id=call.id, error_code="other_error")

    assert failed.status == "failed"
    [incident] = failed.incidents
    assert incident.kind == "uncaught_error"
    assert "other_error" in incident.message


def test_resuming_a_service_call_twice_is_rejected(engine: Engine) -> None:
    started = engine.start(USER_TASK)
    with pytest.raises(CommandRejected):
        engine.resume_service_task(USER_TASK, started.snapshot, call_id=started.work_items_opened[0].id,
                                   result={})


ERROR_END = model(f"""
{START}
{script("prepare", "x = 1")}
<bpmn:endEvent id="fail_end"><bpmn:errorEventDefinition errorRef="broken"/></bpmn:endEvent>
{chain("start", "prepare", "fail_end")}
""", extra='<bpmn:error id="broken" name="broken" errorCode="broken"/>\n')


def test_uncaught_error_end_event_fails_the_instance_instead_of_completing_silently(engine: Engine) -> None:
    result = engine.start(ERROR_END)

    assert result.status == "failed"
    [incident] = result.incidents
    assert incident.kind == "uncaught_error"
    assert incident.activity_id == "fail_end"
    assert result.audit[-1].type == "instance.failed"


TIMER = model(f"""
{START}
<bpmn:intermediateCatchEvent id="wait_an_hour">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
{END}
{chain("start", "wait_an_hour", "end")}
""")


def test_iso_duration_timer_works_unquoted_and_sets_the_next_timer(engine: Engine) -> None:
    before = datetime.now(UTC)
    started = engine.start(TIMER)

    assert started.status == "waiting"
    assert started.next_timer_at is not None
    assert before + timedelta(minutes=59) < started.next_timer_at < before + timedelta(minutes=61)

    early = engine.fire_due_timers(TIMER, started.snapshot, now=before + timedelta(minutes=30))
    assert early.status == "waiting"
    assert early.completed_activities == []

    late = engine.fire_due_timers(TIMER, started.snapshot, now=before + timedelta(hours=2))
    assert late.status == "completed"
    assert late.completed_activities == ["wait_an_hour", "end"]
    assert any(e.type == "timer.fired" and e.activity_id == "wait_an_hour" for e in late.audit)


BOUNDARY_TIMER = model(f"""
{START}
<bpmn:userTask id="review"/>
<bpmn:boundaryEvent id="review_late" attachedToRef="review">
  <bpmn:timerEventDefinition><bpmn:timeDate>2026-12-01T09:00:00+01:00</bpmn:timeDate></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
{script("escalate", "escalated = True")}
<bpmn:endEvent id="end_escalated"/>
{END}
{chain("start", "review", "end")}
{chain("review_late", "escalate", "end_escalated")}
""")


def test_boundary_timer_with_an_iso_date_cancels_the_work_item_when_it_fires(engine: Engine) -> None:
    started = engine.start(BOUNDARY_TIMER)
    assert started.next_timer_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    [item] = started.work_items_opened

    fired = engine.fire_due_timers(BOUNDARY_TIMER, started.snapshot, now=datetime(2026, 12, 1, 8, 0, 1, tzinfo=UTC))

    assert fired.status == "completed"
    assert fired.variables["escalated"] is True
    assert fired.work_items_closed == [item.id]


EVENT_GATEWAY = model(f"""
{START}
<bpmn:eventBasedGateway id="wait_for_either"/>
<bpmn:intermediateCatchEvent id="timeout">
  <bpmn:timerEventDefinition>
    <bpmn:timeDuration>"PT" + str(minutes) + "M"</bpmn:timeDuration>
  </bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="payment"/></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="end_timeout"/>
{END}
{chain("start", "wait_for_either")}
{chain("wait_for_either", "timeout", "end_timeout")}
{chain("wait_for_either", "paid", "end")}
""", extra='<bpmn:message id="payment" name="payment"/>\n')


def test_timer_expression_inside_an_event_based_gateway_sets_the_next_timer(engine: Engine) -> None:
    before = datetime.now(UTC)
    started = engine.start(EVENT_GATEWAY, variables={"minutes": 5})

    assert started.next_timer_at is not None
    assert before + timedelta(minutes=4) < started.next_timer_at < before + timedelta(minutes=6)
    assert [s.name for s in started.subscriptions] == ["payment"]

    paid = engine.deliver_message(EVENT_GATEWAY, started.snapshot, name="payment", variables={"paid_amount": 5})
    assert paid.status == "completed"
    assert paid.variables["paid_amount"] == 5
    assert "end" in paid.completed_activities and "end_timeout" not in paid.completed_activities
    assert paid.next_timer_at is None


def test_message_the_instance_does_not_wait_for_is_rejected(engine: Engine) -> None:
    started = engine.start(EVENT_GATEWAY, variables={"minutes": 5})
    with pytest.raises(CommandRejected) as err:
        engine.deliver_message(EVENT_GATEWAY, started.snapshot, name="refund")
    assert err.value.code == "no_matching_subscription"


LOOP = model(f"""
{START}
{script("init", "i = 0")}
{script("count", "i = i + 1")}
<bpmn:exclusiveGateway id="again" default="f_done"/>
{END}
{chain("start", "init", "count", "again")}
{flow("f_loop", "again", "count", "i &lt; limit")}
{flow("f_done", "again", "end")}
""")


def test_gateway_loop_runs_past_spiffworkflows_333_round_stall(engine: Engine) -> None:
    result = engine.start(LOOP, variables={"limit": 500})

    assert result.status == "completed"
    assert result.variables["i"] == 500


def test_runaway_loop_is_stopped_with_a_step_failure_not_a_hang() -> None:
    small = Engine(max_rounds=300)
    with pytest.raises(StepFailed) as err:
        small.start(LOOP, variables={"limit": 10**9})
    assert err.value.kind == "loop_limit"


def test_failing_script_raises_an_expression_error_naming_the_element(engine: Engine) -> None:
    broken = model(f'{START}{script("divide", "x = 1 / zero")}{END}{chain("start", "divide", "end")}')
    with pytest.raises(ExpressionError) as err:
        engine.start(broken, variables={"zero": 0})
    assert err.value.element_id == "divide"


def test_cancel_closes_open_work_items_and_timers(engine: Engine) -> None:
    started = engine.start(BOUNDARY_TIMER)
    cancelled = engine.cancel(BOUNDARY_TIMER, started.snapshot)

    assert cancelled.status == "cancelled"
    assert cancelled.work_items_closed == [started.work_items_opened[0].id]
    assert cancelled.next_timer_at is None
    assert cancelled.active_activities == []


@pytest.mark.parametrize("source", [USER_TASK, SERVICE, TIMER, BOUNDARY_TIMER, EVENT_GATEWAY],
                         ids=["user_task", "service", "timer", "boundary_timer", "event_gateway"])
def test_snapshot_round_trips_at_every_wait_state(engine: Engine, source) -> None:
    started = engine.start(source, variables={"amount": 3, "minutes": 1, "when": datetime(2026, 1, 2, tzinfo=UTC)})

    again = engine.inspect(source, started.snapshot)

    assert again.snapshot == started.snapshot
    assert again.active_activities == started.active_activities
    assert again.next_timer_at == started.next_timer_at
    assert json.loads(again.snapshot)["snapshot_version"] == again.snapshot_version


def test_snapshot_holds_no_spec_and_keeps_dates_decimals_and_sets(engine: Engine) -> None:
    from decimal import Decimal

    started = engine.start(USER_TASK, variables={"price": Decimal("9.99"), "tags": {"b", "a"},
                                                 "due": datetime(2026, 5, 1, 12, tzinfo=UTC)})
    snapshot = json.loads(started.snapshot)
    assert "spec" not in snapshot and "subprocess_specs" not in snapshot
    assert started.variables["price"] == "9.99"
    assert started.variables["tags"] == ["a", "b"]
    assert started.variables["due"] == "2026-05-01T12:00:00+00:00"

    done = engine.complete_work_item(USER_TASK, started.snapshot, work_item_id=started.work_items_opened[0].id,
                                     variables={"approved": True})
    assert done.variables["price"] == "9.99"


PARALLEL_USER_TASKS = model(f"""
{START}
<bpmn:parallelGateway id="split"/>
<bpmn:userTask id="check_credit"/>
<bpmn:userTask id="check_stock"/>
<bpmn:parallelGateway id="join"/>
{END}
{chain("start", "split")}
{chain("split", "check_credit", "join")}
{chain("split", "check_stock", "join")}
{chain("join", "end")}
""")


def test_completing_a_work_item_that_is_no_longer_open_is_rejected_while_the_instance_runs(engine: Engine) -> None:
    started = engine.start(PARALLEL_USER_TASKS)
    credit = next(i for i in started.work_items_opened if i.activity_id == "check_credit")
    once = engine.complete_work_item(PARALLEL_USER_TASKS, started.snapshot, work_item_id=credit.id)
    assert once.status == "waiting"

    with pytest.raises(CommandRejected) as err:
        engine.complete_work_item(PARALLEL_USER_TASKS, once.snapshot, work_item_id=credit.id)
    assert err.value.code == "work_item_not_open"


def test_run_task_refuses_a_task_that_is_not_ready(engine: Engine) -> None:
    from bpmn import runner, snapshot
    from bpmn.workflow import PatchbayWorkflow

    started = engine.start(TIMER)
    compiled = engine.specs.get(TIMER)
    workflow = snapshot.load(started.snapshot, spec=compiled.spec, subprocess_specs=compiled.subprocess_specs)
    assert isinstance(workflow, PatchbayWorkflow)
    waiting = next(t for t in workflow.get_tasks() if t.task_spec.name == "wait_an_hour")

    with pytest.raises(CommandRejected) as err:
        runner.run_task(waiting)
    assert err.value.code == "task_not_ready"
    assert waiting.state != runner.READY
