"""Scenario tests of processes/payment, engine only: every gateway branch, boundary and timer path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bpmn import CommandRejected, validate
from tests.processes.scenario import OPERATIONS, Scenario, covered, flow_node_ids, source_of

PROCESS = "payment"
PAYMENT_ID = "pay-2001"


def payment(card_number: str = "4111111111111111") -> dict[str, Any]:
    """Start variables as the API documents them."""
    return {"payment_id": PAYMENT_ID, "customer_id": "cust-42", "account_id": "acc-5", "amount": 49.9,
            "currency": "EUR", "card_number": card_number,
            "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}}


def charged(run: Scenario, card_number: str = "4111111111111111") -> Scenario:
    call = run.call("charge_card")
    assert (call.operation, call.parameters) == ("payment.charge", {
        "payment_id": PAYMENT_ID, "customer_id": "cust-42", "amount": 49.9, "currency": "EUR",
        "card_number": card_number})
    return run.resume("charge_card", {"charge_id": "ch-77", "status": "pending"})


def confirmed(run: Scenario, status: str = "succeeded") -> Scenario:
    return run.deliver("payment_confirmed", {"payment_id": PAYMENT_ID},
                       {"payment_id": PAYMENT_ID, "charge_id": "ch-77", "status": status})


def posted(run: Scenario) -> Scenario:
    call = run.call("post_payment")
    assert (call.operation, call.parameters) == ("billing.post_payment", {
        "account_id": "acc-5", "payment_id": PAYMENT_ID, "amount": 49.9, "currency": "EUR"})
    run.resume("post_payment", {"posting_id": "post-1"})
    assert run.status == "completed"
    assert run.variables["payment_status"] == "posted"
    assert run.completed[-1] == "payment_posted_end"
    return run


def declined(run: Scenario) -> Scenario:
    run.fail("charge_card", "card_declined")
    return dunned(run)


def dunned(run: Scenario) -> Scenario:
    notify = run.call("notify_payment_failed")
    assert (notify.operation, notify.parameters["template"], notify.parameters["to"]) == (
        "notify.send", "payment_failed", "ada@example.com")
    run.resume("notify_payment_failed", {"notification_id": "n-1"})
    item = run.items["handle_dunning"]
    assert item.lane == "collections"
    assert (item.properties["slaTarget"], item.properties["slaCalendar"]) == ("P3D", "business")
    return run


def overdue(run: Scenario) -> Scenario:
    run.wait(timedelta(minutes=59))
    assert "check_payment" not in run.items
    run.wait(timedelta(minutes=2))
    assert run.items["check_payment"].lane == "billing_ops"
    return run


# --- scenarios -----------------------------------------------------------------------------------


def scenario_confirmed_payment_is_posted() -> Scenario:
    run = charged(Scenario(PROCESS, payment()))
    assert run.subscriptions() == {"payment_confirmed": {"payment_id": PAYMENT_ID}}
    with pytest.raises(CommandRejected):  # another payment's confirmation never lands here
        run.deliver("payment_confirmed", {"payment_id": "pay-other"}, {"status": "succeeded"})
    return posted(confirmed(run))


def scenario_declined_card_is_retried_with_a_new_card_after_dunning() -> Scenario:
    run = declined(Scenario(PROCESS, payment("4000000000000002")))
    run.complete("handle_dunning", {"dunning_decision": "retry", "card_number": "5555555555554444",
                                    "dunning_note": "customer gave a new card on the phone"})
    charged(run, "5555555555554444")
    assert run.variables["charge_attempts"] == 2
    return posted(confirmed(run))


def scenario_declined_card_is_written_off() -> Scenario:
    run = declined(Scenario(PROCESS, payment("4000000000000002")))
    run.complete("handle_dunning", {"dunning_decision": "write_off", "dunning_note": "customer unreachable"})
    assert run.status == "completed"
    assert run.variables["payment_status"] == "written_off"
    assert run.completed[-1] == "payment_written_off_end"
    return run


def scenario_failed_confirmation_goes_to_dunning_and_a_retry_succeeds() -> Scenario:
    run = confirmed(charged(Scenario(PROCESS, payment())), status="failed")
    dunned(run)
    run.complete("handle_dunning", {"dunning_decision": "retry", "dunning_note": "card topped up"})
    charged(run)
    # The second confirmation decides, not the first one's "failed".
    return posted(confirmed(run))


def scenario_overdue_confirmation_is_checked_and_waited_for_again() -> Scenario:
    run = overdue(charged(Scenario(PROCESS, payment())))
    run.complete("check_payment", {"check_decision": "wait", "check_comment": "gateway shows pending"})
    assert "wait_for_confirmation" in run.active
    return posted(confirmed(run))


def scenario_overdue_confirmation_is_confirmed_by_hand() -> Scenario:
    run = overdue(charged(Scenario(PROCESS, payment())))
    run.complete("check_payment", {"check_decision": "confirmed", "check_comment": "portal: succeeded"})
    return posted(run)


def scenario_overdue_charge_is_refunded() -> Scenario:
    run = overdue(charged(Scenario(PROCESS, payment())))
    run.complete("check_payment", {"check_decision": "refund", "check_comment": "stuck at the acquirer"})
    call = run.call("refund_charge")
    assert (call.operation, call.parameters) == ("payment.refund", {"charge_id": "ch-77", "amount": 49.9})
    run.resume("refund_charge", {"refund_id": "re-1", "status": "succeeded"})
    assert run.status == "completed"
    assert run.variables["payment_status"] == "refunded"
    assert run.completed[-1] == "payment_refunded_end"
    return run


def scenario_late_confirmation_closes_the_check_item() -> Scenario:
    run = overdue(charged(Scenario(PROCESS, payment())))
    assert run.subscriptions() == {"payment_confirmed": {"payment_id": PAYMENT_ID}}
    confirmed(run)
    assert "check_payment" not in run.items
    assert "late_confirmation" in run.completed
    return posted(run)


SCENARIOS: list[Callable[[], Scenario]] = [
    scenario_confirmed_payment_is_posted,
    scenario_declined_card_is_retried_with_a_new_card_after_dunning,
    scenario_declined_card_is_written_off,
    scenario_failed_confirmation_goes_to_dunning_and_a_retry_succeeds,
    scenario_overdue_confirmation_is_checked_and_waited_for_again,
    scenario_overdue_confirmation_is_confirmed_by_hand,
    scenario_overdue_charge_is_refunded,
    scenario_late_confirmation_closes_the_check_item,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.removeprefix("scenario_"))
def test_scenario(scenario: Callable[[], Scenario]) -> None:
    scenario()


def test_the_model_validates_with_the_contract_operations() -> None:
    report = validate(source_of(PROCESS), operations=OPERATIONS)
    assert report.ok, [p.as_dict() for p in report.problems]
    assert report.problems == ()
    assert report.process_key == PROCESS


def test_scenarios_cover_every_flow_node_of_the_diagram() -> None:
    nodes = flow_node_ids(PROCESS)
    done = covered(scenario() for scenario in SCENARIOS)
    assert nodes - done == set(), f"never completed by any scenario: {sorted(nodes - done)}"
    assert len(nodes) >= 25
