"""The sandbox app: simulated external systems for the demo and the tests."""

from __future__ import annotations

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Holds the simulated systems' state; its URLs are mounted at `/sandbox/` when enabled."""

    name = "apps.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox (simulated systems)"
