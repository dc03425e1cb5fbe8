"""Data associations through an activity's `ioSpecification`.

SpiffWorkflow 3.2.0 ignores an association's other end: an input association copies the data object
into the task under the *data object's* id (not into the data input it targets), an output
association reads the data object's id from the task (not the data output it comes from). With an
`ioSpecification` it then replaces the task's data by its data inputs alone and fails the instance
when a data output is not set ("Missing data input" / "Missing data ouput"), so a task with an
`ioSpecification` and data associations could not run at all.

Patchbay (BPMN 10.4, with Camunda's reading of the data a task sees):
- before the activity runs, each `dataInputAssociation` copies its source (a data object, through a
  `dataObjectReference` or directly, or a data store) into the task variable named by the data
  input it targets;
- when the activity completes, each `dataOutputAssociation` copies the task variable named by its
  source data output into its target data object, if the activity set it (an output it did not set
  leaves the data object as it was);
- the activity still sees the process variables (its inputs are added, nothing is hidden), and the
  data input variables are dropped again when it completes.
Multi-instance and loop activities keep SpiffWorkflow's handling (their `ioSpecification` names
the loop's input and output collections).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from bpmn.errors import StepFailed


class InputAssociation:
    """Copies a data object (or store) into the task variable of the data input it targets."""

    def __init__(self, source: Any, target: str) -> None:
        self.source = source
        self.bpmn_id = target  # SpiffWorkflow pops `bpmn_id` from the task data when the task completes

    def get(self, my_task: Any) -> None:
        """Called by SpiffWorkflow before the task runs."""
        self.source.get(my_task)
        source_id = self.source.bpmn_id
        if source_id != self.bpmn_id:
            my_task.data[self.bpmn_id] = my_task.data.pop(source_id, None)


class OutputAssociation:
    """Copies the task variable of a data output into the data object (or store) it targets."""

    def __init__(self, source: str, target: Any) -> None:
        self.source = source
        self.target = target

    def set(self, my_task: Any) -> None:
        """Called by SpiffWorkflow when the task completes."""
        if self.source not in my_task.data:
            return
        my_task.data[self.target.bpmn_id] = deepcopy(my_task.data[self.source])
        try:
            self.target.set(my_task)
        except Exception as exc:  # a data store SpiffWorkflow cannot write
            raise StepFailed("data_association", f"could not write {self.target.bpmn_id!r}: {exc}") from None


_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_NS = {"bpmn": _BPMN}


def associate(task: Any, node: Any) -> None:
    """Give a parsed activity spec Patchbay's data association semantics (see the module doc)."""
    if node.xpath("./bpmn:standardLoopCharacteristics|./bpmn:multiInstanceLoopCharacteristics", namespaces=_NS):
        return
    inputs = node.xpath("./bpmn:dataInputAssociation", namespaces=_NS)
    outputs = node.xpath("./bpmn:dataOutputAssociation", namespaces=_NS)
    if task.io_specification is None or not (inputs or outputs):
        return
    if len(inputs) != len(task.data_input_associations) or len(outputs) != len(task.data_output_associations):
        return  # an association with several sources or targets: leave SpiffWorkflow's reading
    task.data_input_associations = [
        InputAssociation(spec, _one(a, "targetRef") or spec.bpmn_id)
        for a, spec in zip(inputs, task.data_input_associations, strict=True)]
    task.data_output_associations = [
        OutputAssociation(_one(a, "sourceRef") or spec.bpmn_id, spec)
        for a, spec in zip(outputs, task.data_output_associations, strict=True)]
    task.io_specification = None


def _one(association: Any, tag: str) -> str:
    found = association.xpath(f"./bpmn:{tag}", namespaces=_NS)
    return (found[0].text or "").strip() if found else ""


class DataAssociationParserMixin:
    """Mixed into every activity parser: `associate` runs once the activity is parsed."""

    def parse_node(self) -> Any:
        task = super().parse_node()  # type: ignore[misc]
        associate(self.task, self.node)  # type: ignore[attr-defined]
        return task
