"""Cross-cutting pieces: error shape, auth, pagination, health probes, logging, the UI shell."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """App config for `apps.core`."""

    name = "apps.core"
    label = "core"
