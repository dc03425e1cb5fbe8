"""Django app configuration of the web UI."""

from django.apps import AppConfig


class UiConfig(AppConfig):
    """Pages only: no models of its own."""

    name = "apps.ui"
    label = "ui"
    verbose_name = "Web UI"
