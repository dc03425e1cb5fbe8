"""Runtime: instances, the step pipeline, audit trail, incidents, messages and timers."""

from django.apps import AppConfig


class InstancesConfig(AppConfig):
    """App config for `apps.instances`."""

    name = "apps.instances"
    label = "instances"

    def ready(self) -> None:
        """Index message start events and start timers of every newly deployed definition."""
        from apps.definitions.hooks import register_deployed_hook  # noqa: PLC0415 - app registry is ready now
        from apps.instances.start_index import start_events_index  # noqa: PLC0415

        register_deployed_hook(start_events_index)
