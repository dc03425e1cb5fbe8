"""The trace of a betsy case: the tokens logged, read from what the engine ran, on a virtual clock."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bpmn.conformance.adapter import TOKEN_SECONDS
from bpmn.semantics.rewrite import stands_for
from bpmn.types import StepResult

_SCRIPT_TOKEN = re.compile(r"SCRIPT_task\d+")
_COMPLETED = 64  # SpiffWorkflow's TaskState.COMPLETED, as stored in snapshots
_CHILD = " [child]"  # SpiffWorkflow names the spec of one loop / multi-instance iteration "<id> [child]"


def completed_runs(snapshot: str, looped: set[str]) -> list[tuple[float, str, str]]:
    """(completion time, task id, element id) of every completed activity run in a snapshot.

    The audit's `completed_activities` also lists the wrapper of a looped or multi-instance activity,
    which runs no script itself: such wrappers are left out here, their iterations are kept.
    """
    state = json.loads(snapshot)
    runs = []
    for tasks in [state["tasks"], *(sub["tasks"] for sub in state.get("subprocesses", {}).values())]:
        for task_id, task in tasks.items():
            name = str(task["task_spec"])
            if task["state"] != _COMPLETED or (name in looped):
                continue
            element = name.removesuffix(_CHILD)
            runs.append((float(task["last_state_change"]), task_id, stands_for(element) or element))
    return sorted(runs)


@dataclass
class Trace:
    """What betsy's log file would hold after the case, built from completed script activity runs.

    `now` is the virtual time of the step being recorded. A word that takes time (`WAIT_TEN_SECONDS`,
    `CREATE_TIMESTAMP_LOG_n`) occupies the clock for its duration: the scripts of one step run one
    after the other, as they do in Patchbay, so two such tasks of one step never overlap.
    """

    tokens: dict[str, str]
    looped: set[str] = field(default_factory=set)
    now: datetime | None = None
    logged: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    marker_file: bool = False
    data_correct: bool = False
    timestamps: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def record(self, result: StepResult) -> None:
        """Take in the script runs a step completed, in completion order."""
        clock = self.now or datetime.min
        for _, task_id, element in completed_runs(result.snapshot, self.looped):
            if task_id in self.seen:
                continue
            self.seen.add(task_id)
            word = self.tokens.get(element)
            if word is None:
                continue
            seconds = TOKEN_SECONDS.get(word, 0)
            if word.startswith("CREATE_TIMESTAMP_LOG"):
                self.timestamps[word] = (clock, clock + timedelta(seconds=seconds))
            clock += timedelta(seconds=seconds)
            self._log(word, result.variables)
        if self.now is not None:
            self.now = clock

    def _log(self, word: str, variables: dict[str, Any]) -> None:
        if _SCRIPT_TOKEN.fullmatch(word):
            self.logged.append(word)
        elif word == "CREATE_MARKER_FILE":
            self.marker_file = True
        elif word == "INCREMENT_INTEGER_VARIABLE_AND_LOG":
            self.logged.append("INCREMENT_correct")
        elif word == "LOG_DATA" and variables.get("logged_data_is_string") is True:
            self.data_correct = True

    def mark(self, marker: str) -> None:
        """Add an error marker (`ERROR_runtime`, `ERROR_deployment`, `ERROR_thrownErrorEvent`)."""
        if marker not in self.markers:
            self.markers.append(marker)

    def entries(self, asserted: Collection[str]) -> list[str]:
        """The trace as betsy's checker sees it: the log, the checks the case `asserted`, error markers.

        betsy looks at the marker file, the timestamps and the data log only for a case that asserts
        `MARKER_exists`, `EXECUTION_parallel` or `DATA_correct` (`BPMNEnginesUtil.checkMarkerFileExists`
        and its siblings): a called process that makes a marker before it escalates leaves no
        `MARKER_exists` in the trace of a case that does not ask about the marker.
        """
        first, second = self.timestamps.get("CREATE_TIMESTAMP_LOG_1"), self.timestamps.get("CREATE_TIMESTAMP_LOG_2")
        checks = {
            "MARKER_exists": self.marker_file,
            "EXECUTION_parallel": bool(first and second and first[0] < second[1] and second[0] < first[1]),
            "DATA_correct": self.data_correct,
        }
        found = [name for name, holds in checks.items() if holds and name in asserted]
        return self.logged + found + self.markers
