"""Runtime: instances, the step pipeline, audit trail, incidents, messages and timers."""

from django.apps import AppConfig


class InstancesConfig(AppConfig):
    """App config for `apps.instances`."""

    name = "apps.instances"
    label = "instances"

    def ready(self) -> None:
        """Index message start events and start timers of every newly deployed definition; bound the
        lock waits of every database session."""
        from django.db.backends.signals import connection_created  # noqa: PLC0415

        from apps.definitions.hooks import register_deployed_hook  # noqa: PLC0415 - app registry is ready now
        from apps.instances.locking import bound_lock_waits_of  # noqa: PLC0415
        from apps.instances.start_index import start_events_index  # noqa: PLC0415

        register_deployed_hook(start_events_index)
        connection_created.connect(bound_lock_waits_of, dispatch_uid="patchbay-bound-lock-waits")
