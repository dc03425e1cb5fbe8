"""Escalation actions of a policy, fired once per at-risk or breach event of a deadline.

The action list (docs/sla.md) is ordered; each entry has `on` (`at_risk` or `breached`, default
`breached`) and `action`:

* `email` - `to` (addresses): a mail through Django's email backend;
* `webhook` - `url` (http/https): a JSON POST with httpx;
* `reassign` - `group` (and `release: true` to take it from its assignee too): the work item's
  candidate groups become `[group]`, through `apps.worklist.services.work_item_reassign`;
* `priority` - `priority` (absolute) or `raise_by`: the work item's priority;
* `message` - `name` (and optional `variables`): a message delivered into this instance, so the
  model can react (e.g. a non-interrupting message boundary event leading to a supervisor).

Database actions (reassign, priority) run in the sweep's transaction, with the instance already
locked, so they commit exactly once with the breach row. The others touch the network or step the
instance, so the sweep only writes a pending `EscalationDelivery` and enqueues the Celery task
`deliver_escalation` after its commit (`apps.sla.delivery` runs it, outside any transaction).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from django.contrib.auth import get_user_model
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F

from apps.core.errors import ApiError
from apps.instances.models import ProcessInstance
from apps.instances.pipeline import SYSTEM_ACTOR
from apps.instances.trail import EventDraft, append_events
from apps.sla.models import Deadline, DeliveryStatus, EscalationDelivery, SlaBreach
from apps.worklist.models import ACTIVE_STATUSES, WorkItem
from apps.worklist.services import work_item_reassign

logger = logging.getLogger(__name__)

ACTIONS = ("email", "webhook", "reassign", "priority", "message")
DEFERRED_ACTIONS = frozenset({"email", "webhook", "message"})
ON_VALUES = ("at_risk", "breached")
MAX_ESCALATIONS = 20


def _bad(index: int, key: str, message: str) -> ApiError:
    field = f"escalations[{index}].{key}" if key else f"escalations[{index}]"
    return ApiError(f"{field}: {message}", code="invalid_escalation",
                    details=[{"field": field, "code": "invalid_escalation", "message": message}])


def check_escalations(value: Any) -> list[dict[str, Any]]:
    """The escalation list, cleaned; `ApiError` 400 naming the entry and key of the first mistake."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ESCALATIONS:
        raise ApiError(f"escalations must be a list of at most {MAX_ESCALATIONS} actions", code="invalid_escalation",
                       details=[{"field": "escalations", "code": "invalid_escalation", "message": "not a list"}])
    return [_check_one(index, entry) for index, entry in enumerate(value)]


def _check_one(index: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _bad(index, "", "each action is an object")
    action, on = entry.get("action"), entry.get("on", "breached")
    if action not in ACTIONS:
        raise _bad(index, "action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    if on not in ON_VALUES:
        raise _bad(index, "on", f"{on!r} is not at_risk or breached")
    checker = {"email": _check_email, "webhook": _check_webhook, "reassign": _check_reassign,
               "priority": _check_priority, "message": _check_message}[action]
    return {"action": action, "on": on, **checker(index, entry)}


def _check_email(index: int, entry: dict[str, Any]) -> dict[str, Any]:
    to = entry.get("to")
    to = [to] if isinstance(to, str) else to
    if not isinstance(to, list) or not to:
        raise _bad(index, "to", "name one or more addresses")
    for address in to:
        try:
            validate_email(address)
        except Exception as exc:
            raise _bad(index, "to", f"{address!r} is not an email address") from exc
    return {"to": list(to)}


def _check_webhook(index: int, entry: dict[str, Any]) -> dict[str, Any]:
    url = entry.get("url")
    parsed = urlparse(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _bad(index, "url", f"{url!r} is not an http(s) URL")
    return {"url": url}


def _check_reassign(index: int, entry: dict[str, Any]) -> dict[str, Any]:
    group = entry.get("group")
    if not isinstance(group, str) or not group.strip() or len(group) > 150:
        raise _bad(index, "group", "name the group (1 to 150 characters)")
    return {"group": group.strip(), "release": bool(entry.get("release", False))}


def _check_priority(index: int, entry: dict[str, Any]) -> dict[str, Any]:
    for key in ("priority", "raise_by"):
        value = entry.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not -1000 <= value <= 1000:
                raise _bad(index, key, f"{value!r} is not a whole number between -1000 and 1000")
            return {key: value}
    raise _bad(index, "priority", "give `priority` (the new value) or `raise_by`")


def _check_message(index: int, entry: dict[str, Any]) -> dict[str, Any]:
    name, variables = entry.get("name"), entry.get("variables", {})
    if not isinstance(name, str) or not name.strip():
        raise _bad(index, "name", "name the message to deliver")
    if not isinstance(variables, dict):
        raise _bad(index, "variables", "must be an object")
    return {"name": name.strip(), "variables": variables}


# -- firing --------------------------------------------------------------------------------------

def escalations_fire(*, instance: ProcessInstance, deadline: Deadline, breach: SlaBreach, now: datetime) -> int:
    """Write a delivery row per action of this event; run the database ones now, enqueue the others.

    Called by the sweep inside its transaction, with the instance locked. Returns how many actions it
    scheduled or ran. A failing database action is recorded on its row and does not undo the breach.
    """
    count = 0
    for position, config in enumerate(deadline.escalations or []):
        if config.get("on", "breached") != breach.kind:
            continue
        delivery = EscalationDelivery.objects.create(
            breach=breach, position=position, action=config.get("action", ""), config=config, created_at=now
        )
        count += 1
        if delivery.action in DEFERRED_ACTIONS:
            _enqueue_on_commit(delivery.pk)
        else:
            _run_database_action(instance, deadline, delivery, now)
    return count


def _enqueue_on_commit(delivery_id: int) -> None:
    from apps.sla.tasks import deliver_escalation  # noqa: PLC0415 - tasks import this module

    transaction.on_commit(lambda: deliver_escalation.delay(delivery_id))


def _run_database_action(instance: ProcessInstance, deadline: Deadline, delivery: EscalationDelivery,
                         now: datetime) -> None:
    item = _open_work_item(deadline)
    if item is None:
        status, detail = DeliveryStatus.SKIPPED, "no open work item for this activity"
    else:
        try:
            with transaction.atomic():  # a savepoint: a refusal must not undo the breach
                detail = _reassign(item, delivery.config) if delivery.action == "reassign" else _reprioritise(
                    instance, item, delivery.config, now)
            status = DeliveryStatus.DONE
        except ApiError as exc:
            status, detail = DeliveryStatus.FAILED, f"{exc.code}: {exc.message}"
        # The worklist service appended to the trail through its own copy of the locked row.
        instance.refresh_from_db(fields=["event_seq"])
    delivery.status, delivery.detail, delivery.attempts, delivery.done_at = status, detail, 1, now
    delivery.save(update_fields=["status", "detail", "attempts", "done_at"])


def _open_work_item(deadline: Deadline) -> WorkItem | None:
    if not deadline.activity_id:
        return None
    return (WorkItem.objects.filter(instance_id=deadline.instance_id, activity_id=deadline.activity_id,
                                    status__in=ACTIVE_STATUSES).order_by("-created_at").first())


def _system_user() -> Any:
    """An unsaved superuser named `system`: the worklist services' ops check passes and the audit
    trail records `system` as the actor, without a login-capable account in the database."""
    return get_user_model()(username=SYSTEM_ACTOR, is_superuser=True, is_active=True)


def _reassign(item: WorkItem, config: dict[str, Any]) -> str:
    groups = [config["group"]]
    if config.get("release"):
        # Take it away from a claimant who let it breach, back into the new group's queue.
        work_item_reassign(user=_system_user(), work_item_id=item.pk, assignee=None, candidate_groups=groups)
    else:
        work_item_reassign(user=_system_user(), work_item_id=item.pk, candidate_groups=groups)
    return f"candidate groups set to {groups}" + (", released" if config.get("release") else "")


def _reprioritise(instance: ProcessInstance, item: WorkItem, config: dict[str, Any], now: datetime) -> str:
    previous = item.priority
    new = int(config["priority"]) if "priority" in config else previous + int(config.get("raise_by", 0))
    WorkItem.objects.filter(pk=item.pk).update(priority=new, version=F("version") + 1)
    draft = EventDraft("work_item.priority_changed", activity_id=item.activity_id,
                       data={"work_item_id": str(item.pk), "previous": previous, "priority": new, "reason": "sla"})
    append_events(instance=instance, drafts=[draft], actor=SYSTEM_ACTOR, now=now)
    instance.save(update_fields=["event_seq"])
    return f"priority {previous} -> {new}"
