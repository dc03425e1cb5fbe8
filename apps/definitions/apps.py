"""Process definitions: upload, validation report, immutable versions, diagram."""

from django.apps import AppConfig


class DefinitionsConfig(AppConfig):
    """App config for `apps.definitions`."""

    name = "apps.definitions"
    label = "definitions"
