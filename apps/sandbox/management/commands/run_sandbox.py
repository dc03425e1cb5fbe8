"""`manage.py run_sandbox --port 8100`: serve only the simulated systems, on their own port.

Uses the URLconf `apps.sandbox.standalone_urls` (paths stay `/sandbox/<system>/...`) and Django's
threaded development server: a simulator for demos and tests, not a production server. Point the
connectors at it with `PATCHBAY_SYSTEM_URLS` (or `PATCHBAY_<SYSTEM>_URL`); its callbacks go to
`PATCHBAY_CALLBACK_URL`, the Patchbay web server.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application, run

STANDALONE_URLCONF = "apps.sandbox.standalone_urls"


class Command(BaseCommand):
    """Serves until interrupted."""

    help = "Serve only the simulated external systems (apps.sandbox) on their own port."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        # Set before the handler resolves its first URL: every request then uses the sandbox URLconf.
        settings.ROOT_URLCONF = STANDALONE_URLCONF
        # A simulator on plain http (like the systems it stands in for in a test setup): no https redirect.
        settings.SECURE_SSL_REDIRECT = False
        host, port = options["host"], options["port"]
        self.stdout.write(f"sandbox on http://{host}:{port}/sandbox/ (callbacks to {settings.PATCHBAY_CALLBACK_URL})")
        run(host, port, get_internal_wsgi_application(), threading=True, server_cls=WSGIServer)
