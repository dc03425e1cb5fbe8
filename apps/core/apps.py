"""Cross-cutting pieces: error shape, auth, pagination, health probes, logging, the UI shell."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """App config for `apps.core`."""

    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        """A new database session starts with no prepared statements (`apps.core.prepared`)."""
        from django.db.backends.signals import connection_created  # noqa: PLC0415

        from apps.core.prepared import forget  # noqa: PLC0415

        connection_created.connect(forget, dispatch_uid="patchbay-prepared-statements")
