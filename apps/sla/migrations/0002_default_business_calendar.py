"""The shipped default business calendar: `austria` (Mon-Fri 08:00-17:00 Europe/Vienna, Austrian holidays)."""

import datetime

from django.db import migrations


def create_default(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    BusinessCalendar.objects.get_or_create(
        name="austria",
        defaults={
            "country": "AT",
            "subdivision": "",
            "working_days": [0, 1, 2, 3, 4],
            "work_start": datetime.time(8, 0),
            "work_end": datetime.time(17, 0),
            "timezone": "Europe/Vienna",
            "extra_holidays": [],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
