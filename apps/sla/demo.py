"""Demo mode only: short SLAs so `make run` shows at-risk items and breaches within a minute.

Runs after `migrate` (post_migrate) when `PATCHBAY_DEMO` is on - never otherwise. It deploys
`apps/sla/demo/sla_demo.bpmn` (a review with a 30-second SLA and a supervisor path the escalation
triggers) and sets ops overrides: escalations on the demo review, and a 30-second process SLA on
`hello_world`. Idempotent: same content deploys once, overrides are upserted.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

DEMO_MODEL = Path(__file__).resolve().parent / "demo" / "sla_demo.bpmn"
DEMO_ESCALATIONS = [
    {"on": "at_risk", "action": "priority", "raise_by": 25},
    {"on": "breached", "action": "reassign", "group": "ops"},
    {"on": "breached", "action": "message", "name": "sla_escalated"},
]


def seed_demo_sla(sender: Any = None, **kwargs: Any) -> None:
    """Deploy the demo model and its overrides (demo mode only; a post_migrate receiver)."""
    if not getattr(settings, "DEMO_MODE", False):
        return
    from apps.definitions.services import definition_deploy  # noqa: PLC0415 - after the app registry
    from apps.sla.models import SlaPolicy  # noqa: PLC0415

    try:
        definition_deploy(filename=DEMO_MODEL.name, content=DEMO_MODEL.read_bytes(), deployed_by=None)
    except Exception:
        logger.exception("the SLA demo model could not be deployed")
        return
    SlaPolicy.objects.update_or_create(process_key="sla_demo", activity_id="review_order",
                                       defaults={"escalations": DEMO_ESCALATIONS})
    SlaPolicy.objects.update_or_create(process_key="hello_world", activity_id="",
                                       defaults={"target": timedelta(seconds=30), "calendar": "wall"})
