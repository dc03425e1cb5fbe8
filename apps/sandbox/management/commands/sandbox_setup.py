"""`manage.py sandbox_setup`: create the sandbox's service user and print its API token."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.sandbox.knobs import knobs_reset
from apps.sandbox.services import SERVICE_GROUP, SERVICE_USERNAME, service_user_ensure


class Command(BaseCommand):
    """Idempotent; `--reset-knobs` also puts every simulated system back to its default knobs."""

    help = "Create the sandbox service user (for its callbacks to /api/v1/messages/) and print its token."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reset-knobs", action="store_true", help="forget run-time latency/failure changes")

    def handle(self, *args: Any, **options: Any) -> None:
        token = service_user_ensure()
        if options["reset_knobs"]:
            knobs_reset()
        self.stdout.write(f"service user {SERVICE_USERNAME!r} (group {SERVICE_GROUP!r}) ready")
        self.stdout.write(f"PATCHBAY_SANDBOX_CALLBACK_TOKEN={token}")
