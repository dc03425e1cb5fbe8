"""`manage.py bench --short` works end to end: every workload produces figures and the JSON validates.

No timing is asserted (CI machines are shared and slow); this only proves the benchmark runs. It needs
PostgreSQL and Redis (the server policy of tests/conftest.py: skipped on a developer machine without
them, failed in CI) and uses its own database (`patchbay_bench_test`) and Redis database number.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from apps.bench import report
from tests.conftest import require_postgres, require_redis

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[3]
BENCH_DATABASE = "patchbay_bench_test"
BENCH_REDIS_DB = 10
TIMEOUT_SECONDS = 240


def _bench_urls(redis_url: str) -> tuple[str, str]:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    database = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{BENCH_DATABASE}"
    redis_base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    return database, f"{redis_base}/{BENCH_REDIS_DB}"


def test_short_bench_produces_every_figure(tmp_path: Path) -> None:
    require_postgres()
    database_url, redis_url = _bench_urls(require_redis())
    out = tmp_path / "bench.json"
    env = {**os.environ, "SECRET_KEY": "bench-test-only-secret-key-0123456789", "PATCHBAY_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "bench", "--short", "--out", str(out),
         "--database-url", database_url, "--redis-url", redis_url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    data = json.loads(out.read_text())
    report.validate(data)
    assert data["options"]["short"] is True
    assert data["references"]["spiff_alone"]["instances"] > 0
    assert data["references"]["postgres"]["commits"] > 0
    assert data["references"]["durable_floor"]["instances"] > 0
    assert {"durable_floor_per_spiff_alone", "B1_per_durable_floor"} <= set(data["ratios"])
    [spiff_target] = [t for t in data["targets"] if "SpiffWorkflow" in t["target"]]
    assert spiff_target["note"] == f"the durable floor itself reaches {data['ratios']['durable_floor_per_spiff_alone']}"
    figures = {key: entry["figures"] for key, entry in data["workloads"].items()}
    assert set(figures) == {"B1", "B2", "B3", "B4", "B5", "B6"}
    assert figures["B1"]["max_rate"]["in_flight"] == data["options"]["in_flight"] > 0
    for phase in ("max_rate", "fixed_rate"):
        assert figures["B1"][phase]["completed"] == figures["B1"][phase]["started"] > 0
    assert figures["B2"]["completed"] == figures["B2"]["started"] > 0
    assert figures["B2"]["activities"] >= 13 * figures["B2"]["completed"]
    assert figures["B3"]["completed"] > 0 and figures["B3"]["errors"] == 0
    assert figures["B4"]["fired"] == figures["B4"]["timers"] > 0
    # Each scale, then the smallest again (A-B-A: the ratios divide by the smallest's two measurements).
    scales = data["options"]["scales"]
    assert [p["waiting_instances"] for p in figures["B5"]["points"]] == [*scales, scales[0]]
    assert [bool(p.get("again")) for p in figures["B5"]["points"]] == [False] * len(scales) + [True]
    assert set(figures["B5"]["ratios_largest_to_smallest"]) == set(figures["B5"]["ratios_largest_to_first_smallest"])
    # The bulk copy's pages were written out before each point was measured (the test role may).
    assert all(p["checkpointed"] for p in figures["B5"]["points"])
    assert figures["B6"]["status"] == "completed" and figures["B6"]["steps"] == data["options"]["loop_steps"]
    assert "Patchbay bench" in done.stdout and "target B1" in done.stdout
