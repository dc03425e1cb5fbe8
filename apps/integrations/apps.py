"""Integrations: connectors, the outbox of service calls, retries, circuit breakers, metrics."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Registers the built-in connectors, the outbox effect handler, the incident-retry hook and metrics."""

    name = "apps.integrations"
    label = "integrations"

    def ready(self) -> None:
        # Imported here: the wiring needs the models, which load only once the app registry is ready.
        from apps.integrations import wiring  # noqa: PLC0415

        wiring.connect()
