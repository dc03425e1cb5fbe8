"""App config for `apps.sla`: the SLA clock's effect handler, the metrics collector, demo seeding."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class SlaConfig(AppConfig):
    """Registers the clock after the worklist's handler (INSTALLED_APPS order): it reads the step's work items."""

    name = "apps.sla"
    label = "sla"
    verbose_name = "SLA and operations"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from apps.core.metrics import register_collector  # noqa: PLC0415
        from apps.instances.effects import register_effect_handler  # noqa: PLC0415
        from apps.sla.clock import track_deadlines  # noqa: PLC0415
        from apps.sla.demo import seed_demo_sla  # noqa: PLC0415
        from apps.sla.metrics import OpsCollector  # noqa: PLC0415
        from apps.sla.models import SlaPolicy  # noqa: PLC0415
        from apps.sla.policies import forget_cached_overrides  # noqa: PLC0415

        register_effect_handler(track_deadlines, fields=("sla_clocks",))
        post_save.connect(forget_cached_overrides, sender=SlaPolicy, dispatch_uid="apps.sla.overrides.saved")
        post_delete.connect(forget_cached_overrides, sender=SlaPolicy, dispatch_uid="apps.sla.overrides.deleted")
        register_collector(OpsCollector())
        post_migrate.connect(seed_demo_sla, sender=self, dispatch_uid="apps.sla.demo")
