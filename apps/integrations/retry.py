"""The retry of a `service_call_failed` incident: re-arm the outbound call (registered in `apps.py`).

Policy (docs/operations.md "External systems"): `POST /incidents/{id}/retry/` resets the call's
attempts, makes it pending and sends it; the incident stays open (the answer says so) until the call
gets an answer - a result or a BPMN error resolves it in the step that applies the answer. If the
retries are spent again, the same incident counts the new attempts (`incident.retry_failed`).
The parameters were evaluated when the task was reached, so a retry takes no `variables`: fix the
system, not the call (or cancel the instance).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApiError, Conflict
from apps.instances.models import Incident
from apps.integrations.dispatch import send_calls_on_commit
from apps.integrations.models import CallStatus, OutboundCall


def call_retry_from_incident(*, incident: Incident, actor: Any, variables: dict[str, Any] | None) -> Incident:
    """Re-arm the incident's spent call and return the incident (still open until the call answers)."""
    del actor  # the call runs as `system`; the API's own logs say who asked
    if variables:
        raise ApiError(
            "A service call's parameters were fixed when its task was reached; retry takes no variables.",
            code="variables_not_applicable",
            details=[{"field": "variables", "code": "variables_not_applicable",
                      "message": "a retry_service_call step takes no variables"}],
        )
    call_pk = int((incident.command or {}).get("call_id") or 0)
    now = timezone.now()
    with transaction.atomic():
        rearmed = OutboundCall.objects.filter(pk=call_pk, status=CallStatus.FAILED, error_code="").update(
            status=CallStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            started_at=None,
            lease_until=None,
            finished_at=None,
            incident_id=incident.pk,
            escalated=False,
        )
        if not rearmed:
            raise Conflict("The service call of this incident is not failed any more.", code="service_call_not_failed")
        system = OutboundCall.objects.values_list("system", flat=True).get(pk=call_pk)
        send_calls_on_commit([(call_pk, system)])
    incident.refresh_from_db()
    return incident
