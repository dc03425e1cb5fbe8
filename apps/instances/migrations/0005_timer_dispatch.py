"""`ProcessInstance.timer_dispatched_for` / `timer_lease_until`: the timer sweep's claim on a due timer."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("instances", "0004_instance_sla_clocks"),
    ]

    operations = [
        migrations.AddField(
            model_name="processinstance",
            name="timer_dispatched_for",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="processinstance",
            name="timer_lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
