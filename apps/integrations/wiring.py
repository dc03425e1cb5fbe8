"""What the integrations plug into the rest of Patchbay when the app loads (`IntegrationsConfig.ready`).

* the built-in connectors (`core`, `http`) and the system connectors into the registry, and the registry into
  `apps.core.operations` as the source of the operation names upload validation accepts;
* the outbox effect handler into the step pipeline;
* the `retry_service_call` hook into the incident retry;
* the scrape-time metrics collector into `/metrics`;
* a system check that every connector's queue is consumed (`PATCHBAY_SYSTEM_QUEUES`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from apps.core import metrics as core_metrics
from apps.core.operations import register_operation_provider
from apps.instances.effects import register_effect_handler
from apps.instances.retry_hooks import register_retry_hook
from apps.integrations import metrics, registry
from apps.integrations.applying import RETRY_KIND
from apps.integrations.billing.connector import BillingConnector
from apps.integrations.core.connector import CoreConnector
from apps.integrations.credit.connector import CreditConnector
from apps.integrations.crm.connector import CrmConnector
from apps.integrations.files.connector import FilesConnector
from apps.integrations.http.connector import HttpConnector
from apps.integrations.network.connector import NetworkConnector
from apps.integrations.notify.connector import NotifyConnector
from apps.integrations.outbox import outbox_effects
from apps.integrations.payment.connector import PaymentConnector
from apps.integrations.regulator.connector import RegulatorConnector
from apps.integrations.retry import call_retry_from_incident

BUILTIN_CONNECTORS = (CoreConnector, HttpConnector)
# The telecom systems of the shipped processes (docs/operations.md "Sandbox and systems").
SYSTEM_CONNECTORS = (CrmConnector, CreditConnector, BillingConnector, NetworkConnector, NotifyConnector,
                     PaymentConnector, FilesConnector, RegulatorConnector)


def connect() -> None:
    """Register everything once (idempotent: tests may load the app config again)."""
    for connector_class in (*BUILTIN_CONNECTORS, *SYSTEM_CONNECTORS):
        registry.register_connector(connector_class())
    register_operation_provider(registry.operation_names)
    register_effect_handler(outbox_effects)
    register_retry_hook(RETRY_KIND, call_retry_from_incident)
    core_metrics.register_collector(metrics.OutboxCollector())
    checks.register(check_system_queues)


def check_system_queues(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when a connector's queue is not in `PATCHBAY_SYSTEM_QUEUES` (no worker would consume it)."""
    queues = set(settings.PATCHBAY_SYSTEM_QUEUES)
    return [
        checks.Warning(
            f"the queue {connector.queue!r} of system {name!r} is not in PATCHBAY_SYSTEM_QUEUES",
            hint="add it, and make a worker consume it (celery worker -Q ...)",
            id="integrations.W001",
        )
        for name, connector in registry.connectors().items()
        if connector.queue not in queues
    ]
