"""Engine behaviour around messages, sub-processes, cycles and the SpiffWorkflow defects we fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bpmn import CommandRejected, Engine, StepFailed
from bpmn.script_engine import RestrictedScriptEngine
from tests.bpmn.xml import chain, correlated_message, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'

CORRELATED = correlated_message("wait_for_payment", "payment_confirmed")
MESSAGE = model(f"""
{START}
<bpmn:intermediateCatchEvent id="payment_received">
  <bpmn:messageEventDefinition messageRef="payment_confirmed"/>
</bpmn:intermediateCatchEvent>
{END}
{chain("start", "payment_received", "end")}
""", key="wait_for_payment", extra=CORRELATED)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def test_waiting_message_is_published_with_the_instances_correlation_values(engine: Engine) -> None:
    started = engine.start(MESSAGE, variables={"order_id": "ord-1"})

    [sub] = started.subscriptions
    assert (sub.name, sub.activity_id, sub.correlation) == ("payment_confirmed", "payment_received",
                                                           {"order_id": "ord-1"})


def test_message_with_another_instances_correlation_is_refused(engine: Engine) -> None:
    started = engine.start(MESSAGE, variables={"order_id": "ord-1"})

    with pytest.raises(CommandRejected) as err:
        engine.deliver_message(MESSAGE, started.snapshot, name="payment_confirmed",
                               correlation={"order_id": "ord-2"}, variables={"paid": True})
    assert err.value.code == "no_matching_subscription"
    with pytest.raises(CommandRejected):
        engine.deliver_message(MESSAGE, started.snapshot, name="payment_confirmed", correlation={})


def test_correlated_message_is_delivered_and_its_variables_become_process_variables(engine: Engine) -> None:
    started = engine.start(MESSAGE, variables={"order_id": "ord-1"})

    done = engine.deliver_message(MESSAGE, started.snapshot, name="payment_confirmed",
                                  correlation={"order_id": "ord-1"}, variables={"paid": True})

    assert done.status == "completed"
    assert done.variables["paid"] is True
    assert done.completed_activities == ["payment_received", "end"]
    assert any(e.type == "message.received" for e in done.audit)


SUBPROCESS = model(f"""
{START}
<bpmn:subProcess id="prepare">
  <bpmn:startEvent id="sub_start"/>
  {script("sub_work", "prepared = True")}
  <bpmn:userTask id="sub_review"/>
  <bpmn:endEvent id="sub_end"/>
  {chain("sub_start", "sub_work", "sub_review", "sub_end")}
</bpmn:subProcess>
{END}
{chain("start", "prepare", "end")}
""")


def test_work_items_inside_a_subprocess_are_reported_and_completable(engine: Engine) -> None:
    started = engine.start(SUBPROCESS)

    assert started.status == "waiting"
    [item] = started.work_items_opened
    assert item.activity_id == "sub_review"
    assert "sub_review" in started.active_activities

    done = engine.complete_work_item(SUBPROCESS, started.snapshot, work_item_id=item.id)

    assert done.status == "completed"
    assert done.variables["prepared"] is True
    assert done.completed_activities[-2:] == ["prepare", "end"]


EVENT_SUBPROCESS = model(f"""
{START}
<bpmn:userTask id="long_work"/>
{END}
{chain("start", "long_work", "end")}
<bpmn:subProcess id="reminder" triggeredByEvent="true">
  <bpmn:startEvent id="remind_after" isInterrupting="false">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:startEvent>
  {script("remind", "reminded = True")}
  <bpmn:endEvent id="reminder_end"/>
  {chain("remind_after", "remind", "reminder_end")}
</bpmn:subProcess>
""")


def test_timer_start_event_of_an_event_subprocess_sets_the_next_timer(engine: Engine) -> None:
    before = datetime.now(UTC)
    started = engine.start(EVENT_SUBPROCESS)

    assert started.next_timer_at is not None
    assert before + timedelta(minutes=119) < started.next_timer_at < before + timedelta(minutes=121)

    fired = engine.fire_due_timers(EVENT_SUBPROCESS, started.snapshot, now=before + timedelta(hours=3))
    assert "remind" in fired.completed_activities
    assert fired.status == "waiting"
    assert "long_work" in fired.active_activities


CYCLE = model(f"""
{START}
<bpmn:userTask id="handle"/>
<bpmn:boundaryEvent id="nag" attachedToRef="handle" cancelActivity="false">
  <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
{script("count_nag", "nags = nags + 1")}
<bpmn:endEvent id="nag_end"/>
{END}
{chain("start", "handle", "end")}
{chain("nag", "count_nag", "nag_end")}
""")


def test_repeating_cycle_timer_fires_each_round_and_moves_its_due_time(engine: Engine) -> None:
    started = engine.start(CYCLE, variables={"nags": 0})
    first_due = started.next_timer_at
    assert first_due is not None

    fired = engine.fire_due_timers(CYCLE, started.snapshot, now=first_due + timedelta(seconds=1))

    assert "count_nag" in fired.completed_activities
    assert fired.next_timer_at is not None and fired.next_timer_at > first_due
    assert fired.status == "waiting"


def test_script_engine_call_service_reports_a_clear_failure_not_a_name_error() -> None:
    engine = RestrictedScriptEngine()

    class _Spec:
        bpmn_id = "charge"

    class _Task:
        task_spec = _Spec()
        data: dict[str, object] = {}

    with pytest.raises(StepFailed) as err:
        engine.call_service(_Task(), operation_name="core.echo", operation_params={})
    assert err.value.activity_id == "charge"
    assert not isinstance(err.value, NameError)


def test_parameter_expression_error_names_the_service_task(engine: Engine) -> None:
    broken = model(f"""
{START}
<bpmn:serviceTask id="charge">
  <bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="core.echo" resultVariable="r">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="value" type="int" value="missing_variable + 1"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>
  </bpmn:extensionElements>
</bpmn:serviceTask>
{END}
{chain("start", "charge", "end")}
""")
    from bpmn import ExpressionError

    with pytest.raises(ExpressionError) as err:
        engine.start(broken)
    assert err.value.element_id == "charge"
    assert "value" in str(err.value)


def test_a_chain_of_1200_activities_runs_to_completion(engine: Engine) -> None:
    count = 1200
    ids = ["start"] + [f"step_{i}" for i in range(count)] + ["end"]
    body = START + "".join(script(f"step_{i}", "n = n + 1") for i in range(count)) + END + chain(*ids)

    result = engine.start(model(body), variables={"n": 0})

    assert result.status == "completed"
    assert result.variables["n"] == count
    assert len(result.completed_activities) == count + 2
