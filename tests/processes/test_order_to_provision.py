"""Scenario tests of processes/order_to_provision, engine only: every gateway branch, boundary and timer path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bpmn import CommandRejected, validate
from tests.processes.scenario import OPERATIONS, Scenario, covered, flow_node_ids, source_of

PROCESS = "order_to_provision"


def order(order_id: str = "ord-1001", *, score_segment: str = "residential", amount: float = 1200) -> dict[str, Any]:
    """Start variables as the API documents them."""
    return {
        "order_id": order_id, "customer_id": "cust-42",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "segment": score_segment},
        "amount": amount, "service": "fibre_500", "address": "1 Analytical Way, London", "plan": "home_plus",
    }


def started(score: int, **kwargs: Any) -> Scenario:
    """An order whose credit check returned `score`, now past the credit decision."""
    run = Scenario(PROCESS, order(**kwargs))
    call = run.call("get_credit_score")
    assert (call.operation, call.parameters) == ("credit.get_score", {"customer_id": "cust-42",
                                                                     "amount": run.variables["amount"]})
    return run.resume("get_credit_score", {"customer_id": "cust-42", "score": score, "band": "x"})


def fulfilling(run: Scenario) -> Scenario:
    """Past the CRM update: provisioning requested, billing account being created."""
    crm = run.call("upsert_customer")
    assert (crm.operation, crm.parameters) == ("crm.upsert_customer", {
        "customer_id": "cust-42", "name": "Ada Lovelace", "email": "ada@example.com",
        "segment": run.variables["customer"]["segment"]})
    run.resume("upsert_customer", {"customer_id": "cust-42", "crm_id": "crm-9", "created": True})
    assert {"request_provisioning", "create_billing_account"} <= set(run.active)
    request = run.call("request_provisioning")
    assert (request.operation, request.parameters) == ("network.request_provisioning", {
        "order_id": run.variables["order_id"], "service": "fibre_500", "address": "1 Analytical Way, London"})
    billing = run.call("create_billing_account")
    assert (billing.operation, billing.parameters) == ("billing.create_account", {
        "customer_id": "cust-42", "order_id": run.variables["order_id"], "plan": "home_plus"})
    return run.resume("request_provisioning", {"provisioning_id": "prov-7", "status": "accepted"})


def provisioned(run: Scenario, order_id: str = "ord-1001") -> Scenario:
    return run.deliver("provisioning_completed", {"order_id": order_id},
                       {"order_id": order_id, "provisioning_id": "prov-7", "status": "active"})


def account_created(run: Scenario) -> Scenario:
    return run.resume("create_billing_account", {"account_id": "acc-5", "status": "open"})


def activated(run: Scenario) -> Scenario:
    activation = run.call("activate_service")
    assert (activation.operation, activation.parameters) == ("network.activate_service", {
        "order_id": run.variables["order_id"], "provisioning_id": "prov-7"})
    run.resume("activate_service", {"status": "active"})
    notify = run.call("notify_activation")
    assert notify.operation == "notify.send"
    assert notify.parameters["to"] == "ada@example.com"
    assert notify.parameters["template"] == "service_activated"
    assert notify.parameters["data"]["account_id"] == "acc-5"
    return run.resume("notify_activation", {"notification_id": "n-1"})


def cancelled_and_undone(run: Scenario) -> Scenario:
    """The cancellation path after fulfilment: both undo calls, then the customer is told."""
    cancel_account = run.call("cancel_billing_account")
    assert (cancel_account.operation, cancel_account.parameters) == ("billing.cancel_account",
                                                                     {"account_id": "acc-5"})
    run.resume("cancel_billing_account", {"account_id": "acc-5", "status": "cancelled"})
    cancel_network = run.call("cancel_provisioning")
    assert (cancel_network.operation, cancel_network.parameters) == ("network.cancel_provisioning",
                                                                     {"provisioning_id": "prov-7"})
    run.resume("cancel_provisioning", {"status": "cancelled"})
    return told_of_cancellation(run)


def told_of_cancellation(run: Scenario) -> Scenario:
    notify = run.call("notify_cancellation")
    assert (notify.operation, notify.parameters["template"]) == ("notify.send", "order_cancelled")
    run.resume("notify_cancellation", {"notification_id": "n-2"})
    assert run.status == "completed"
    assert run.variables["order_status"] == "cancelled"
    assert run.completed[-1] == "order_cancelled_end"
    return run


# --- scenarios: each returns the finished (or parked) run for the coverage assertion ---------------


def scenario_auto_approved_order_is_activated() -> Scenario:
    run = fulfilling(started(780))
    assert run.variables["credit_decision"] == "approve"
    assert run.subscriptions() == {"provisioning_completed": {"order_id": "ord-1001"},
                                   "order_cancelled": {"order_id": "ord-1001"}}
    account_created(provisioned(run))
    activated(run)
    assert run.status == "completed"
    assert run.variables["order_status"] == "active"
    assert run.completed[-1] == "order_completed_end"
    assert "review_credit" not in run.completed
    return run


def scenario_low_score_is_rejected_and_the_customer_told() -> Scenario:
    run = started(420)
    assert run.variables["credit_decision"] == "reject"
    notify = run.call("notify_rejection")
    assert (notify.operation, notify.parameters) == ("notify.send", {
        "channel": "email", "to": "ada@example.com", "template": "order_rejected",
        "data": {"order_id": "ord-1001", "name": "Ada Lovelace"}})
    run.resume("notify_rejection", {"notification_id": "n-3"})
    assert run.status == "completed"
    assert run.variables["order_status"] == "rejected"
    assert run.completed[-1] == "order_rejected_end"
    return run


def scenario_manual_review_approves() -> Scenario:
    run = started(600)
    assert run.variables["credit_decision"] == "manual_review"
    item = run.items["review_credit"]
    assert item.lane == "credit_team"
    assert item.properties["slaTarget"] == "PT4H" and item.properties["slaCalendar"] == "business"
    run.complete("review_credit", {"review_decision": "approve", "review_comment": "long-standing customer"})
    fulfilling(run)
    account_created(provisioned(run))
    activated(run)
    assert run.variables["order_status"] == "active"
    return run


def scenario_manual_review_rejects() -> Scenario:
    run = started(610, amount=300)
    run.complete("review_credit", {"review_decision": "reject", "review_comment": "address does not exist"})
    run.resume("notify_rejection", {"notification_id": "n-4"})
    assert run.variables["order_status"] == "rejected"
    assert run.completed[-1] == "order_rejected_end"
    return run


def scenario_cancelled_during_credit_review() -> Scenario:
    run = started(550)
    run.deliver("order_cancelled", {"order_id": "ord-1001"}, {"reason": "changed my mind"})
    assert "review_credit" not in run.items  # the work item is withdrawn
    assert "cancel_billing_account" not in run.calls and "cancel_provisioning" not in run.calls  # nothing to undo
    told_of_cancellation(run)
    assert run.variables["cancel_reason"] == "customer"
    assert run.variables["reason"] == "changed my mind"
    return run


def scenario_provisioning_failure_is_retried_from_the_fallout_item() -> Scenario:
    run = fulfilling(started(700))
    account_created(run)
    run.deliver("provisioning_completed", {"order_id": "ord-1001"},
                {"order_id": "ord-1001", "provisioning_id": "prov-7", "status": "failed"})
    item = run.items["handle_provisioning_fallout"]
    assert item.lane == "provisioning_ops"
    run.complete("handle_provisioning_fallout", {"fallout_decision": "retry", "fallout_comment": "port reset"})
    assert "request_provisioning" in run.active  # a second provisioning request
    run.resume("request_provisioning", {"provisioning_id": "prov-7", "status": "accepted"})
    provisioned(run)
    activated(run)
    assert run.variables["order_status"] == "active"
    assert run.completed.count("request_provisioning") == 2
    return run


def scenario_provisioning_timeout_escalates_and_ops_cancel() -> Scenario:
    run = fulfilling(started(700))
    assert run.variables["provisioning_timeout"] == "P2D"
    run.wait(timedelta(days=1, hours=23))
    assert "handle_provisioning_fallout" not in run.items  # not yet due
    run.wait(timedelta(hours=2))
    assert "provisioning_overdue" in run.completed
    assert "provisioning_completed" not in run.subscriptions()  # the wait is over
    run.complete("handle_provisioning_fallout", {"fallout_decision": "cancel", "fallout_comment": "no capacity"})
    assert set(run.active) == {"create_billing_account", "fulfilment_joined"}  # the join waits for billing
    account_created(run)
    cancelled_and_undone(run)
    assert run.variables["cancel_reason"] == "provisioning_fallout"
    return run


def scenario_business_orders_escalate_after_one_day() -> Scenario:
    run = fulfilling(started(790, score_segment="business", amount=9000))
    assert run.variables["credit_decision"] == "approve"
    assert run.variables["provisioning_timeout"] == "P1D"
    run.wait(timedelta(days=1, minutes=1))
    assert "handle_provisioning_fallout" in run.items
    return run


def scenario_cancelled_while_provisioning_undoes_account_and_provisioning() -> Scenario:
    run = fulfilling(started(700))
    with pytest.raises(CommandRejected):  # another order's cancellation never reaches this one
        run.deliver("order_cancelled", {"order_id": "ord-9999"})
    run.deliver("order_cancelled", {"order_id": "ord-1001"}, {"reason": "moved abroad"})
    assert "wait_for_provisioning" not in run.active
    account_created(run)  # the account is created after the cancellation arrived: still undone
    cancelled_and_undone(run)
    assert run.variables["cancel_reason"] == "customer"
    return run


def scenario_cancelled_during_fallout_handling() -> Scenario:
    run = fulfilling(started(700))
    account_created(run)
    run.wait(timedelta(days=3))
    assert "handle_provisioning_fallout" in run.items
    run.deliver("order_cancelled", {"order_id": "ord-1001"})
    assert "handle_provisioning_fallout" not in run.items
    cancelled_and_undone(run)
    return run


def scenario_business_large_order_goes_to_review() -> Scenario:
    run = started(690, score_segment="business", amount=20000)
    assert run.variables["credit_decision"] == "manual_review"
    assert run.items["review_credit"].properties["priority"] == "=70 if amount > 5000 else 50"
    return run


SCENARIOS: list[Callable[[], Scenario]] = [
    scenario_auto_approved_order_is_activated,
    scenario_low_score_is_rejected_and_the_customer_told,
    scenario_manual_review_approves,
    scenario_manual_review_rejects,
    scenario_cancelled_during_credit_review,
    scenario_provisioning_failure_is_retried_from_the_fallout_item,
    scenario_provisioning_timeout_escalates_and_ops_cancel,
    scenario_business_orders_escalate_after_one_day,
    scenario_cancelled_while_provisioning_undoes_account_and_provisioning,
    scenario_cancelled_during_fallout_handling,
    scenario_business_large_order_goes_to_review,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.removeprefix("scenario_"))
def test_scenario(scenario: Callable[[], Scenario]) -> None:
    scenario()


def test_the_model_validates_with_the_contract_operations() -> None:
    report = validate(source_of(PROCESS), operations=OPERATIONS)
    assert report.ok, [p.as_dict() for p in report.problems]
    assert report.problems == ()
    assert report.process_key == PROCESS


@pytest.mark.parametrize(("score", "amount", "segment", "expected"), [
    (300, 100, "residential", "reject"),
    (499, 100, "business", "reject"),
    (500, 100, "residential", "manual_review"),
    (649, 100, "business", "manual_review"),
    (650, 5000, "residential", "approve"),
    (850, 5000, "wholesale", "approve"),
    (650, 5001, "business", "manual_review"),
    (719, 90000, "business", "manual_review"),
    (720, 90000, "business", "approve"),
    (850, 5001, "residential", "manual_review"),
    (850, 5001, "wholesale", "manual_review"),
])
def test_credit_decision_table(score: int, amount: float, segment: str, expected: str) -> None:
    run = started(score, amount=amount, score_segment=segment)
    assert run.variables["credit_decision"] == expected


def test_scenarios_cover_every_flow_node_of_the_diagram() -> None:
    nodes = flow_node_ids(PROCESS)
    done = covered(scenario() for scenario in SCENARIOS)
    assert nodes - done == set(), f"never completed by any scenario: {sorted(nodes - done)}"
    assert len(nodes) >= 40
