"""Where the conformance results go, and writing them: full JSON, checked-in summary, generated doc."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bpmn.conformance import report, suite

RESULTS = Path("var/conformance.json")  # everything, per case (not checked in)
SUMMARY = Path("tests/conformance/summary.json")  # checked in: the docs are generated from it
FLOORS = Path("tests/conformance/floors.json")  # checked in: CI fails below these, raise them as passes land
DOC = Path("docs/bpmn-support.md")


def write_json(path: Path, data: Any) -> None:
    """Write JSON with stable formatting (sorted keys keep diffs of the summary readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def write_all(project: Path, results: dict[str, Any], *, docs: bool) -> list[Path]:
    """Write the full results and the summary; with `docs`, regenerate `docs/bpmn-support.md` too."""
    written = [project / RESULTS, project / SUMMARY]
    write_json(project / RESULTS, results)
    summary = suite.summary(results)
    write_json(project / SUMMARY, summary)
    if docs:
        (project / DOC).write_text(report.markdown(summary), encoding="utf-8")
        written.append(project / DOC)
    return written
