"""App config for `apps.worklist`: registers the step effect handler that projects work items."""

from django.apps import AppConfig


class WorklistConfig(AppConfig):
    """Work items are written by an effect handler of the step pipeline, registered here once."""

    name = "apps.worklist"
    label = "worklist"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from apps.instances.effects import register_effect_handler  # noqa: PLC0415
        from apps.worklist.projection import project_work_items  # noqa: PLC0415

        register_effect_handler(project_work_items)
