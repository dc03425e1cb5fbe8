"""The whole conformance run: betsy's execution tests, its invalid models, and the MIWG models.

`run(root)` returns plain JSON-safe results; `summary(results)` keeps what the docs and the CI floors
need. Betsy's tests and its invalid models run under both validation profiles: the default one at the
top level of the results, the strict one (`bpmn.validate(..., profile="strict")`) under "strict", each
entirely on its own (a test passes under strict only if strict validation deploys its models and the
run then passes). The corpus lives outside the project (`../shared/conformance` by default, or
`PATCHBAY_CONFORMANCE_DIR`); nothing here writes files.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bpmn.conformance import betsy
from bpmn.constraints import CODE_PREFIX
from bpmn.engine import Engine
from bpmn.errors import BpmnError
from bpmn.types import ModelSource
from bpmn.validation import validate

ENV_DIR = "PATCHBAY_CONFORMANCE_DIR"
FIGURES = ("tests_passed", "cases_passed", "invalid_rejected", "invalid_rejected_by_rule", "miwg_uploaded",
           "miwg_deployed", "strict_tests_passed", "strict_cases_passed", "strict_invalid_rejected",
           "strict_invalid_rejected_by_rule")
STRICT = "strict"


def corpus_dir(project_root: Path) -> Path:
    """Where the corpus is: `$PATCHBAY_CONFORMANCE_DIR`, else `../shared/conformance` of the project."""
    configured = os.environ.get(ENV_DIR)
    return Path(configured) if configured else (project_root.parent / "shared" / "conformance").resolve()


def run(root: Path) -> dict[str, Any]:
    """Run every part of the suite against the corpus at `root`; returns the full results."""
    started = time.monotonic()
    results: dict[str, Any] = {
        "betsy": run_betsy(root / "betsy"),
        "invalid": run_invalid(root / "betsy" / "bpmn_constraints"),
        "miwg": run_miwg(root / "miwg" / "Reference"),
        STRICT: {"betsy": run_betsy(root / "betsy", profile=STRICT),
                 "invalid": run_invalid(root / "betsy" / "bpmn_constraints", profile=STRICT)},
    }
    results["figures"] = figures(results)
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


def run_betsy(root: Path, *, profile: str = "default") -> list[dict[str, Any]]:
    """Every betsy execution test, through `bpmn.validate` (under `profile`) and `bpmn.Engine`."""
    engine = Engine()
    tests = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    out = []
    for test in tests:
        result = betsy.run_test(engine, root, test, profile=profile)
        out.append({"name": result.name, "group": result.group, "file": result.file, "passed": result.passed,
                    "reason": result.reason, "feature_set": test.get("feature_set", ""),
                    "cases": [{"number": c.number, "passed": c.passed, "expected": c.expected,
                               "actual": c.actual, "reason": c.reason} for c in result.cases]})
    return out


def run_invalid(root: Path, *, profile: str = "default") -> list[dict[str, Any]]:
    """Each invalid model must be rejected (under `profile`); `code` is the first broken static rule that
    says why, `rules` every rule that does."""
    out = []
    for path in sorted(root.rglob("*.bpmn")):
        report = validate(ModelSource(path.name, path.read_bytes()), profile=profile)
        rules = [p for p in report.errors if p.code.startswith(CODE_PREFIX)]
        first = rules[0] if rules else (report.errors[0] if report.errors else None)
        out.append({"file": str(path.relative_to(root)), "folder": path.parent.name, "rejected": not report.ok,
                    "by_rule": bool(rules), "code": first.code if first else None,
                    "rules": sorted({p.code for p in rules}),
                    "message": first.message if first else "accepted",
                    "element_id": first.element_id if first else None,
                    "line": first.line if first else None})
    return out


def run_miwg(root: Path) -> list[dict[str, Any]]:
    """Each MIWG model must upload (validate answers, never raises) and deploy or say precisely why not."""
    engine = Engine()
    out = []
    for path in sorted(root.glob("*.bpmn")):
        source = ModelSource(path.name, path.read_bytes())
        entry: dict[str, Any] = {"file": path.name, "uploaded": False, "deployed": False, "reason": ""}
        try:
            report = validate(source)
        except Exception as exc:  # an upload must never crash: record it as a failure of ours
            entry["reason"] = f"validate raised {type(exc).__name__}: {exc}"
            out.append(entry)
            continue
        # validate() turns its own crashes into a problem; that is still a crash, not an upload.
        entry["uploaded"] = all(p.code and p.message and not p.message.startswith("unexpected error while validating")
                                for p in report.problems)
        entry["problems"] = [p.as_dict() for p in report.errors][:10]
        if report.ok:
            entry["deployed"], entry["reason"] = _deploy(engine, source)
        else:
            first = report.errors[0] if report.errors else None
            entry["reason"] = f"{first.code} ({first.element_id}): {first.message}" if first else "no process"
        out.append(entry)
    return out


def _deploy(engine: Engine, source: ModelSource) -> tuple[bool, str]:
    """Compile and start the model: a deployment that cannot start an instance has not deployed."""
    try:
        result = engine.start(source)
    except BpmnError as exc:
        return False, f"start failed: {type(exc).__name__}: {exc}"
    except Exception as exc:  # an engine bug; reported, never hidden
        return False, f"start crashed: {type(exc).__name__}: {exc}"
    if result.status == "failed":
        return False, f"instance failed at start: {result.incidents[-1].message if result.incidents else ''}"
    return True, ""


def figures(results: dict[str, Any]) -> dict[str, int]:
    """The headline numbers (each with its `_of` total); `strict_*` are the same under the strict profile."""
    miwg = results["miwg"]
    out = {**_profile_figures(results["betsy"], results["invalid"]),
           "miwg_uploaded": sum(m["uploaded"] for m in miwg), "miwg_deployed": sum(m["deployed"] for m in miwg),
           "miwg_of": len(miwg)}
    if STRICT in results:
        strict = _profile_figures(results[STRICT]["betsy"], results[STRICT]["invalid"])
        out.update({f"{STRICT}_{name}": value for name, value in strict.items()})
    return out


def _profile_figures(tests: list[dict[str, Any]], invalid: list[dict[str, Any]]) -> dict[str, int]:
    cases = [c for t in tests for c in t["cases"]]
    return {
        "tests_passed": sum(t["passed"] for t in tests), "tests_of": len(tests),
        "cases_passed": sum(c["passed"] for c in cases), "cases_of": len(cases),
        "invalid_rejected": sum(i["rejected"] for i in invalid), "invalid_of": len(invalid),
        "invalid_rejected_by_rule": sum(i["rejected"] and i["by_rule"] for i in invalid),
    }


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """What the checked-in summary keeps: figures, per-group and per-feature results, every failure."""
    groups: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    features: dict[str, list[int]] = {}
    for test in results["betsy"]:
        groups[test["group"]] += 1
        passed[test["group"]] += test["passed"]
        counts = features.setdefault(test["feature_set"], [0, 0])
        counts[0] += test["passed"]
        counts[1] += 1
    return {
        "figures": results["figures"],
        "groups": {g: {"passed": passed[g], "of": n} for g, n in sorted(groups.items())},
        "features": {f: {"passed": c[0], "of": c[1]} for f, c in sorted(features.items())},
        "failing_tests": [{"name": t["name"], "group": t["group"], "reason": t["reason"]}
                          for t in results["betsy"] if not t["passed"]],
        "invalid_accepted": [i["file"] for i in results["invalid"] if not i["rejected"]],
        "invalid_rules": _rule_counts(results["invalid"]),
        "invalid_not_by_rule": _not_by_rule(results["invalid"]),
        STRICT: _strict_summary(results[STRICT]) if STRICT in results else {},
        "miwg": [{"file": m["file"], "uploaded": m["uploaded"], "deployed": m["deployed"], "reason": m["reason"]}
                 for m in results["miwg"]],
    }


def _rule_counts(invalid: list[dict[str, Any]]) -> dict[str, int]:
    """How many invalid models each rule rejected (a model broken in two ways counts for both rules)."""
    return dict(sorted(Counter(code for i in invalid if i["by_rule"] for code in i.get("rules", [i["code"]])).items()))


def _not_by_rule(invalid: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Invalid models rejected only by a generic check, with the first problem found."""
    return [{"file": i["file"], "code": i["code"], "message": i["message"]}
            for i in invalid if i["rejected"] and not i["by_rule"]]


def _strict_summary(strict: dict[str, Any]) -> dict[str, Any]:
    """What the checked-in summary keeps of the strict run: failures and the rules that rejected."""
    return {
        "failing_tests": [{"name": t["name"], "group": t["group"], "reason": t["reason"]}
                          for t in strict["betsy"] if not t["passed"]],
        "invalid_accepted": [i["file"] for i in strict["invalid"] if not i["rejected"]],
        "invalid_not_by_rule": _not_by_rule(strict["invalid"]),
        "invalid_rules": _rule_counts(strict["invalid"]),
    }


def below_floors(found: dict[str, int], floors: dict[str, int]) -> list[str]:
    """The figures that fell below their floor (floors only go up)."""
    return [f"{name}: {found.get(name, 0)} < floor {floor}" for name, floor in floors.items()
            if found.get(name, 0) < floor]
