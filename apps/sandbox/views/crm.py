"""Simulated CRM (REST): customers upserted by the caller's customer id.

`PUT  /sandbox/crm/customers/<customer_id>` `{name, email, segment}` -> 201 (created) or 200
`{customer_id, crm_id, created}`; `GET` the same path -> the customer or 404.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.sandbox.models import Customer, new_id
from apps.sandbox.web import error, json_body, rest_system


@rest_system("crm", "GET", "PUT")
def customer(request: HttpRequest, knobs: dict[str, Any], customer_id: str) -> HttpResponse:
    """Read or upsert one customer."""
    if request.method == "GET":
        found = Customer.objects.filter(customer_id=customer_id).first()
        if found is None:
            return error(404, "customer_not_found")
        return JsonResponse(_as_json(found, created=False))
    body = json_body(request, "name", "email")
    if "@" not in str(body["email"]):
        return error(422, "invalid_email", "email must contain @")
    segment = str(body.get("segment") or "consumer")  # any label: each CRM has its own segments
    fields = {"name": str(body["name"]), "email": str(body["email"]), "segment": segment}
    row, created = _upsert(customer_id, fields)
    return JsonResponse(_as_json(row, created=created), status=201 if created else 200)


def _upsert(customer_id: str, fields: dict[str, str]) -> tuple[Customer, bool]:
    try:
        with transaction.atomic():
            return Customer.objects.update_or_create(
                customer_id=customer_id, defaults=fields, create_defaults={**fields, "crm_id": new_id("crm")}
            )
    except IntegrityError:  # a concurrent PUT created it first: now it is an update
        return Customer.objects.update_or_create(customer_id=customer_id, defaults=fields)


def _as_json(row: Customer, *, created: bool) -> dict[str, Any]:
    return {"customer_id": row.customer_id, "crm_id": row.crm_id, "created": created, "name": row.name,
            "email": row.email, "segment": row.segment}
