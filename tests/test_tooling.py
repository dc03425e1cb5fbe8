"""The developer tooling: Makefile, .ci/run, the run_stack supervisor, and docs that must stay in step."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_run_stack():
    spec = importlib.util.spec_from_file_location("run_stack", ROOT / "scripts" / "run_stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_stack"] = module
    spec.loader.exec_module(module)
    return module


run_stack = _load_run_stack()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _make_dry_run(target: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout


def test_make_test_runs_the_stages_in_order():
    out = _make_dry_run("test")
    stages = ["ruff check .", "mypy bpmn apps", "lint-imports", "pytest"]
    positions = [out.find(stage) for stage in stages]
    assert all(p >= 0 for p in positions), out
    assert positions == sorted(positions), out
    assert ".venv/bin/" in out


def test_make_run_prepares_then_starts_the_stack():
    out = _make_dry_run("run")
    steps = ["migrate", "ensure_groups", "deploy_processes", "seed_demo_users", "collectstatic",
             "run_stack.py"]
    positions = [out.find(step) for step in steps]
    assert all(p >= 0 for p in positions), out
    assert positions == sorted(positions), out


def test_makefile_fails_fast():
    text = (ROOT / "Makefile").read_text()
    assert "-eu -o pipefail" in text


def test_ci_script_is_executable_bash_with_strict_mode():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert "make test" in text
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_readme_starts_with_the_two_commands():
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:12])
    assert "make run" in head and "make test" in head


def test_operations_guide_lists_every_environment_variable_of_the_settings():
    settings_text = (ROOT / "apps" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', settings_text))
    names |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z0-9_]+)"', settings_text))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= names
    guide = (ROOT / "docs" / "operations.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in guide)
    assert not missing, f"docs/operations.md does not document: {missing}"


def _sleeper(seconds: int = 60) -> list[str]:
    return [sys.executable, "-c", f"import time; print('up', flush=True); time.sleep({seconds})"]


def test_supervisor_stops_all_when_one_dies_and_exits_non_zero():
    out = io.StringIO()
    children = [
        run_stack.Child("sleeper", _sleeper()),
        run_stack.Child("crasher", [sys.executable, "-c", "import sys, time; time.sleep(0.5); "
                                    "print('bye', flush=True); sys.exit(3)"]),
    ]
    supervisor = run_stack.Supervisor(children, out=out, grace_seconds=5, colour=False)
    supervisor.start()
    code = supervisor.wait()
    assert code == 3
    assert not _alive(children[0].process.pid)
    text = out.getvalue()
    assert "crasher | bye" in text
    assert "sleeper | up" in text
    assert "crasher exited with code 3" in text


def test_supervisor_treats_a_clean_exit_as_failure():
    children = [run_stack.Child("quitter", [sys.executable, "-c", "pass"]), run_stack.Child("s", _sleeper())]
    supervisor = run_stack.Supervisor(children, out=io.StringIO(), grace_seconds=5, colour=False)
    supervisor.start()
    assert supervisor.wait() == 1


def test_supervisor_kills_a_child_that_ignores_sigterm():
    stubborn = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print('up', flush=True); time.sleep(60)"]
    children = [run_stack.Child("stubborn", stubborn)]
    supervisor = run_stack.Supervisor(children, out=io.StringIO(), grace_seconds=0.5, colour=False)
    supervisor.start()
    time.sleep(0.5)
    started = time.monotonic()
    supervisor.stop_all()
    assert time.monotonic() - started < 5
    assert not _alive(children[0].process.pid)


def test_sigterm_stops_the_whole_stack_and_exits_zero(tmp_path):
    pidfile = tmp_path / "pids"
    program = f"""
import sys
sys.path.insert(0, {str(ROOT / 'scripts')!r})
import run_stack
children = [run_stack.Child("a", {_sleeper()!r}), run_stack.Child("b", {_sleeper()!r})]
sup = run_stack.Supervisor(children, grace_seconds=5, colour=False)
import signal
signal.signal(signal.SIGTERM, sup.request_stop)
sup.start()
open({str(pidfile)!r}, "w").write(" ".join(str(c.process.pid) for c in children))
sys.exit(sup.wait())
"""
    proc = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = [int(p) for p in pidfile.read_text().split()]
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert b"stop requested" in output
    assert not any(_alive(pid) for pid in pids)


def test_default_children_honour_port(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    children = {c.name: c for c in run_stack.default_children()}
    assert set(children) == {"web", "worker", "beat"}
    assert "127.0.0.1:8123" in children["web"].argv
    worker = " ".join(children["worker"].argv)
    assert "-A apps worker" in worker and "-Q engine,celery" in worker
