"""Runtime: instances, the step pipeline, audit trail, incidents and timers."""

from django.apps import AppConfig


class InstancesConfig(AppConfig):
    """App config for `apps.instances`."""

    name = "apps.instances"
    label = "instances"
