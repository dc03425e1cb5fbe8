"""Simulated notification service (REST): records e-mails and SMS instead of sending them.

`POST /sandbox/notify/notifications` `{channel, to, template, data}` (+ `Idempotency-Key`) -> 201
`{notification_id}`; the same key again -> 200 with the same id. `GET` lists the latest 100.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.sandbox.models import Notification, new_id
from apps.sandbox.web import error, json_body, rest_system

CHANNELS = ("email", "sms")


@rest_system("notify", "GET", "POST")
def notifications(request: HttpRequest, knobs: dict[str, Any]) -> HttpResponse:
    """Record a notification, or list what was recorded."""
    if request.method == "GET":
        rows = Notification.objects.order_by("-id")[:100]
        return JsonResponse({"results": [_as_json(row) for row in rows]})
    body = json_body(request, "channel", "to", "template")
    if body["channel"] not in CHANNELS:
        return error(422, "invalid_channel", f"channel must be one of {', '.join(CHANNELS)}")
    key = request.headers.get("Idempotency-Key") or None
    if key and (known := Notification.objects.filter(idempotency_key=key).first()) is not None:
        return JsonResponse(_as_json(known))
    fields = {"channel": body["channel"], "to": str(body["to"]), "template": str(body["template"]),
              "data": body.get("data") or {}}
    try:
        with transaction.atomic():
            row = Notification.objects.create(notification_id=new_id("ntf"), idempotency_key=key, **fields)
    except IntegrityError:  # the same key, concurrently
        return JsonResponse(_as_json(Notification.objects.get(idempotency_key=key)))
    return JsonResponse(_as_json(row), status=201)


def _as_json(row: Notification) -> dict[str, Any]:
    return {"notification_id": row.notification_id, "channel": row.channel, "to": row.to,
            "template": row.template, "data": row.data, "created_at": row.created_at.isoformat()}
