"""`manage.py ensure_groups`: create the role groups. Idempotent and safe in production."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.roles import ROLES
from apps.core.services import group_ensure_all


class Command(BaseCommand):
    """Create the groups analyst, agent, ops and admin if they are missing."""

    help = "Create the role groups (analyst, agent, ops, admin) if they are missing."

    def handle(self, *args: Any, **options: Any) -> None:
        created = group_ensure_all()
        present = ", ".join(ROLES)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created groups: {', '.join(created)} (all of {present})"))
        else:
            self.stdout.write(f"Groups already present: {present}")
