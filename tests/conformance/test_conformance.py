"""The conformance suites as a CI gate: the figures never fall below `floors.json`.

The corpus sits outside the project (`../shared/conformance`, or `PATCHBAY_CONFORMANCE_DIR`). Where it
is missing the suite is skipped with the reason on a developer machine and fails in CI (CI=true).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bpmn.conformance import betsy, files, report, suite
from tests.conftest import skip_or_fail

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results():
    root = suite.corpus_dir(PROJECT)
    if not (root / "betsy" / "expected.json").is_file():
        skip_or_fail(f"the conformance corpus is not at {root} (set {suite.ENV_DIR})")
    return suite.run(root)


def test_figures_never_fall_below_the_floors(results):
    figures = results["figures"]
    print("\n" + "\n".join(report.console_lines(results, verbose=False)))
    assert suite.below_floors(figures, files.read_json(PROJECT / files.FLOORS)) == []


def test_every_failure_names_its_reason(results):
    assert all(t["reason"] for t in results["betsy"] if not t["passed"])
    assert all(m["reason"] for m in results["miwg"] if not m["deployed"])


def test_every_rule_rejection_names_the_rule_and_the_element(results):
    by_rule = [i for i in results["invalid"] if i["by_rule"]]
    assert by_rule
    for entry in by_rule:
        assert entry["message"].split(":", 1)[0].replace(".", "").replace("-", "").isalnum(), entry
        assert entry["element_id"] and entry["line"], entry


def test_the_committed_doc_is_generated_from_the_committed_summary():
    summary = files.read_json(PROJECT / files.SUMMARY)
    assert (PROJECT / files.DOC).read_text(encoding="utf-8") == report.markdown(summary), (
        "docs/bpmn-support.md is stale: run `make conformance-docs`")


@pytest.mark.parametrize(("expected", "actual", "passed"), [
    (["SCRIPT_task1", "SCRIPT_task2"], ["SCRIPT_task2", "SCRIPT_task1"], True),
    (["SCRIPT_task1", "SCRIPT_task1"], ["SCRIPT_task1"], False),
    (["ERROR"], ["ERROR_runtime"], True),
    (["ERROR"], ["ERROR_deployment"], True),
    (["ERROR_runtime"], ["ERROR_deployment"], False),
])
def test_traces_compare_as_multisets(expected, actual, passed):
    assert betsy.compare(expected, actual)[0] is passed
