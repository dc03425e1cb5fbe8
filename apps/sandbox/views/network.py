"""Simulated network provisioning (REST), answering asynchronously.

* `POST /sandbox/network/provisioning` `{order_id, service, address}` -> 202 `{provisioning_id,
  status: "accepted"}`; one provisioning per order (a repeated request returns it, 200). After the
  knob `callback_delay` seconds the sandbox posts `provisioning_completed` to Patchbay, correlated
  by `{"order_id"}`, with `{order_id, provisioning_id, status: "active"|"failed"}` (`failed` with
  probability `failed_rate`).
* `GET /sandbox/network/provisioning/<id>` -> its current state.
* `POST .../<id>/cancel` -> `{status: "cancelled"}`; `POST .../<id>/activate` -> `{status: "active"}`,
  or 409 `provisioning_failed` / `provisioning_cancelled`. Unknown ids -> 404 `provisioning_not_found`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from apps.sandbox.callbacks import message_send_later
from apps.sandbox.models import ProvisioningOrder, new_id
from apps.sandbox.web import chance, error, json_body, rest_system


@rest_system("network", "POST")
def provisioning(request: HttpRequest, knobs: dict[str, Any]) -> HttpResponse:
    """Accept a provisioning request and schedule its completion message."""
    body = json_body(request, "order_id", "service", "address")
    order_id = str(body["order_id"])
    known = ProvisioningOrder.objects.filter(order_id=order_id).first()
    if known is not None:  # the answer to a repeated request is the first answer
        return JsonResponse(_as_json(known, initial=True))
    delay = float(knobs["callback_delay"])
    final = "failed" if chance(knobs["failed_rate"]) else "active"
    try:
        with transaction.atomic():
            row = ProvisioningOrder.objects.create(
                provisioning_id=new_id("prov"), order_id=order_id, service=str(body["service"]),
                address=str(body["address"]), status="accepted", final_status=final,
                settles_at=timezone.now() + timedelta(seconds=delay),
            )
    except IntegrityError:  # the same order, concurrently: the first request schedules the message
        return JsonResponse(_as_json(ProvisioningOrder.objects.get(order_id=order_id), initial=True))
    message_send_later(
        name="provisioning_completed", correlation={"order_id": order_id},
        variables={"order_id": order_id, "provisioning_id": row.provisioning_id, "status": final}, delay=delay,
    )
    return JsonResponse(_as_json(row, initial=True), status=202)


@rest_system("network", "GET")
def provisioning_detail(request: HttpRequest, knobs: dict[str, Any], provisioning_id: str) -> HttpResponse:
    """The provisioning's current state."""
    row = ProvisioningOrder.objects.filter(provisioning_id=provisioning_id).first()
    return error(404, "provisioning_not_found") if row is None else JsonResponse(_as_json(row))


@rest_system("network", "POST")
def cancel(request: HttpRequest, knobs: dict[str, Any], provisioning_id: str) -> HttpResponse:
    """Cancel (idempotent): the completion message, if still pending, is sent all the same."""
    row = ProvisioningOrder.objects.filter(provisioning_id=provisioning_id).first()
    if row is None:
        return error(404, "provisioning_not_found")
    _set_status(row, "cancelled")
    return JsonResponse(_as_json(row))


@rest_system("network", "POST")
def activate(request: HttpRequest, knobs: dict[str, Any], provisioning_id: str) -> HttpResponse:
    """Activate the service of a provisioning that completed (or is still on its way)."""
    row = ProvisioningOrder.objects.filter(provisioning_id=provisioning_id).first()
    if row is None:
        return error(404, "provisioning_not_found")
    current = row.status_now()
    if current in ("failed", "cancelled"):
        return error(409, f"provisioning_{current}", f"provisioning {provisioning_id} is {current}")
    _set_status(row, "active")
    return JsonResponse(_as_json(row))


def _set_status(row: ProvisioningOrder, status: str) -> None:
    row.status, row.final_status = status, ""
    row.save(update_fields=["status", "final_status", "updated_at"])


def _as_json(row: ProvisioningOrder, *, initial: bool = False) -> dict[str, Any]:
    """The provisioning; `initial`: as first accepted (the request's answer), else as it is now."""
    return {"provisioning_id": row.provisioning_id, "order_id": row.order_id, "service": row.service,
            "address": row.address, "status": "accepted" if initial else row.status_now()}
