"""`ProcessInstance.sla_clocks` (set for the instances that have a running SLA clock already), and
`started_at` defaulting to the start step's clock instead of the INSERT's."""

from typing import Any

import django.utils.timezone
from django.db import migrations, models


def mark_running_clocks(apps: Any, schema_editor: Any) -> None:
    instance = apps.get_model("instances", "ProcessInstance")
    deadline = apps.get_model("sla", "Deadline")
    running = deadline.objects.filter(stopped_at__isnull=True).values("instance_id")
    instance.objects.filter(pk__in=running).update(sla_clocks=True)


class Migration(migrations.Migration):
    dependencies = [
        ("instances", "0003_signals"),
        ("sla", "0002_default_business_calendar"),
    ]

    operations = [
        migrations.AddField(
            model_name="processinstance",
            name="sla_clocks",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_running_clocks, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="processinstance",
            name="started_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
    ]
