"""`manage.py check --deploy` passes with production-like settings (no demo, no DEBUG)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_check_deploy_is_clean_with_production_environment(tmp_path):
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests for their own process; production never has it.
    dropped = {"DEBUG", "PATCHBAY_DEMO", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "example.com",
        "PATCHBAY_VAR_DIR": str(tmp_path),
    })
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output.upper().replace("--FAIL-LEVEL WARNING", ""), output
    assert "System check identified no issues" in output, output
