"""Simulated payment gateway (REST) with idempotent charges and a confirmation webhook.

* `POST /sandbox/payment/charges` `{payment_id, customer_id, amount, currency, card_number}` with an
  `Idempotency-Key` header (required) -> 201 `{charge_id, status: "pending"}`; the same key again ->
  200 with the same charge (and no second webhook); the same key with another payment -> 422
  `idempotency_key_reused`. A card number ending with the knob `decline_suffix` -> 402
  `{"error": "card_declined"}`. After `callback_delay` seconds `payment_confirmed` is posted to
  Patchbay, correlated by `{"payment_id"}`, with `{payment_id, charge_id, status: "succeeded"}`.
* `POST /sandbox/payment/refunds` `{charge_id, amount}` -> 201 `{refund_id, status: "succeeded"}`;
  404 `charge_not_found`, 422 `refund_exceeds_charge`.
* `GET /sandbox/payment/charges/<charge_id>` -> the charge.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from apps.sandbox.callbacks import message_send_later
from apps.sandbox.models import Charge, Refund, new_id
from apps.sandbox.web import BadRequest, error, json_body, rest_system


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise BadRequest("amount must be a number") from exc
    if not amount.is_finite() or amount <= 0:
        raise BadRequest("amount must be positive")
    return amount.quantize(Decimal("0.01"))


@rest_system("payment", "POST")
def charges(request: HttpRequest, knobs: dict[str, Any]) -> HttpResponse:
    """Charge a card once per Idempotency-Key; confirm it later by webhook."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return error(400, "idempotency_key_required", "send an Idempotency-Key header")
    body = json_body(request, "payment_id", "customer_id", "amount", "currency", "card_number")
    known = Charge.objects.filter(idempotency_key=key).first()
    if known is not None:
        if known.payment_id != str(body["payment_id"]):
            return error(422, "idempotency_key_reused", "this key was used for another payment")
        return JsonResponse(_as_json(known, initial=True))  # the same answer as the first time
    card = "".join(ch for ch in str(body["card_number"]) if ch.isdigit())
    if len(card) < 12:
        return error(422, "invalid_card_number")
    if card.endswith(str(knobs["decline_suffix"])):
        return error(402, "card_declined", "the issuer declined the card")
    return _charge_create(key, body, card, float(knobs["callback_delay"]))


def _charge_create(key: str, body: dict[str, Any], card: str, delay: float) -> HttpResponse:
    try:
        with transaction.atomic():
            row = Charge.objects.create(
                charge_id=new_id("ch"), idempotency_key=key, payment_id=str(body["payment_id"]),
                customer_id=str(body["customer_id"]), amount=_amount(body["amount"]),
                currency=str(body["currency"]).upper()[:3], card_last4=card[-4:], status="pending",
                final_status="succeeded", settles_at=timezone.now() + timedelta(seconds=delay),
            )
    except IntegrityError:  # the same key, concurrently: the first request sends the webhook
        return JsonResponse(_as_json(Charge.objects.get(idempotency_key=key), initial=True))
    message_send_later(
        name="payment_confirmed", correlation={"payment_id": row.payment_id},
        variables={"payment_id": row.payment_id, "charge_id": row.charge_id, "status": "succeeded"}, delay=delay,
    )
    return JsonResponse(_as_json(row, initial=True), status=201)


@rest_system("payment", "GET")
def charge_detail(request: HttpRequest, knobs: dict[str, Any], charge_id: str) -> HttpResponse:
    """One charge."""
    row = Charge.objects.filter(charge_id=charge_id).first()
    return error(404, "charge_not_found") if row is None else JsonResponse(_as_json(row))


@rest_system("payment", "POST")
def refunds(request: HttpRequest, knobs: dict[str, Any]) -> HttpResponse:
    """Refund (part of) a charge; idempotent per Idempotency-Key when one is sent."""
    body = json_body(request, "charge_id", "amount")
    key = request.headers.get("Idempotency-Key") or None
    if key and (known := Refund.objects.filter(idempotency_key=key).first()) is not None:
        return JsonResponse(_refund_json(known))
    amount = _amount(body["amount"])
    with transaction.atomic():
        charge = Charge.objects.select_for_update().filter(charge_id=str(body["charge_id"])).first()
        if charge is None:
            return error(404, "charge_not_found")
        refunded = charge.refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0)
        if refunded + amount > charge.amount:
            return error(422, "refund_exceeds_charge", f"{charge.amount - refunded} left to refund")
        row = Refund.objects.create(refund_id=new_id("re"), idempotency_key=key, charge=charge, amount=amount)
    return JsonResponse(_refund_json(row), status=201)


def _as_json(row: Charge, *, initial: bool = False) -> dict[str, Any]:
    """The charge; `initial`: as first answered (`pending`), else as it is now."""
    return {"charge_id": row.charge_id, "payment_id": row.payment_id,
            "status": "pending" if initial else row.status_now(),
            "amount": str(row.amount), "currency": row.currency, "card_last4": row.card_last4}


def _refund_json(row: Refund) -> dict[str, Any]:
    return {"refund_id": row.refund_id, "charge_id": row.charge.charge_id, "amount": str(row.amount),
            "status": row.status}
