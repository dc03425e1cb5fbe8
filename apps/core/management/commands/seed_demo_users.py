"""`manage.py seed_demo_users`: demo users with a published password. Demo and DEBUG only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.services import DEMO_PASSWORD, demo_users_seed


class Command(BaseCommand):
    """Create users analyst, agent, ops and admin (superuser) with the demo password."""

    help = (
        f"Create demo users analyst, agent, ops and admin (superuser) with password {DEMO_PASSWORD!r}. "
        "Refuses to run unless PATCHBAY_DEMO or DEBUG is true."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords", action="store_true",
            help="Set the demo password again on users that already exist.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (getattr(settings, "DEMO_MODE", False) or settings.DEBUG):
            raise CommandError(
                "Refusing to create users with a published password: set PATCHBAY_DEMO=true (or DEBUG=true) "
                "on a demo or development machine only. Real deployments create users in the admin."
            )
        result = demo_users_seed(reset_passwords=options["reset_passwords"])
        if result.created:
            self.stdout.write(self.style.SUCCESS(
                f"Created demo users: {', '.join(result.created)} (password {DEMO_PASSWORD!r})"
            ))
        if result.existing:
            self.stdout.write(f"Demo users already present: {', '.join(result.existing)}")
