"""Instance snapshots: the state of one instance, without its spec, as JSON text.

A naive SpiffWorkflow serialization is two thirds spec. Specs are immutable per definition version
and cached by content hash, so a snapshot holds instance state only; restoring takes the compiled
spec from the cache. Snapshots are text, not `jsonb`: SpiffWorkflow restores tasks in the order of
its task map (each task's data is a delta against its parent), and `jsonb` reorders object keys.
`SNAPSHOT_VERSION` changes whenever the format does; `bpmn.migrations` upgrades older snapshots.

Task maps are converted here rather than through SpiffWorkflow's registry one task at a time: the
format is exactly SpiffWorkflow's (tests/bpmn/test_snapshot_format.py), but each task id is parsed
and formatted once instead of up to four times, which was a third of restoring a small instance.
"""

from __future__ import annotations

import json
from datetime import date, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from bpmn.migrations import SNAPSHOT_VERSION, upgrade
from bpmn.workflow import PatchbaySubWorkflow, PatchbayWorkflow

VERSION_KEY = "snapshot_version"


_TASK_TYPENAME = "Task"


def _task_names(tasks: dict[UUID, Any]) -> dict[UUID, str]:
    # A task id appears up to four times in a snapshot (map key, id, its children's parent, its
    # parent's children); `str(UUID)` is slow enough to matter, so each is formatted once per dump.
    return {task_id: str(task_id) for task_id in tasks}


def _task_to_dict(registry: Any, task: Any, tasks: dict[UUID, Any], names: dict[UUID, str]) -> dict[str, Any]:
    """What SpiffWorkflow's `TaskConverter.to_dict` makes of a task, key for key, plus its typename.

    Data is stored as a delta against the parent's data, as SpiffWorkflow does.
    """
    parent = tasks.get(task._parent)
    if parent is None:
        data, delta = task.data, {}
    else:
        data = {}
        delta = {
            "updates": DeepMerge.get_updated_keys(parent.data, task.data),
            "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
        }
    return {
        "id": names.get(task.id) or str(task.id),
        "parent": (names.get(task._parent) or str(task._parent)) if parent is not None else None,
        "children": [names.get(child) or str(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": registry.convert(task.internal_data),
        "data": data,
        "delta": delta,
        "typename": _TASK_TYPENAME,
    }


def _task_from_dict(registry: Any, dct: dict[str, Any], workflow: Any, ids: dict[str, UUID]) -> Any:
    """The task SpiffWorkflow's `TaskConverter.from_dict` restores, parsing no id it has parsed before.

    The parent must have been restored already (it comes first in the task map): the task's data
    is its parent's data with the stored delta applied.
    """
    task_spec = workflow.spec.task_specs.get(dct["task_spec"])
    task = Task(workflow, task_spec, state=dct["state"], id=_uuid(ids, dct["id"]))
    task._parent = _uuid(ids, dct["parent"]) if dct["parent"] is not None else None
    task._children = [_uuid(ids, child) for child in dct["children"]]
    task.last_state_change = dct["last_state_change"]
    task.triggered = dct["triggered"]
    task.internal_data = registry.restore(dct["internal_data"])
    if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
        workflow.top_workflow.event_manager.add_task(task)
    delta = dct.get("delta")
    parent = workflow.tasks.get(task._parent)
    if delta and parent is not None:
        data = DeepMerge.merge({}, parent.data)
        data.update(registry.restore(delta.get("updates", {})))
        for key in delta.get("deletions", {}):
            if key in data:
                del data[key]
    else:
        data = registry.restore(dct["data"])
    task.data = data
    return task


def _uuid(ids: dict[str, UUID], text: str) -> UUID:
    found = ids.get(text)
    return found if found is not None else UUID(text)


class _TaskMapConverter:
    """Converts a workflow's task map itself instead of one registry dispatch per task.

    The result is exactly what SpiffWorkflow's `mapping_to_dict`/`mapping_from_dict` with its
    `TaskConverter` make (tests/bpmn/test_snapshot_format.py compares them), minus repeated UUID
    parsing and formatting and the registry's per-object dispatch.
    """

    registry: Any

    def workflow_to_dict(self, workflow: Any) -> dict[str, Any]:
        """`WorkflowConverter.to_dict`: the attributes shared by top-level workflows and sub-processes."""
        tasks = workflow.tasks
        names = _task_names(tasks)
        last = workflow.last_task
        return {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": (names.get(last.id) or str(last.id)) if last is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": {names[key]: self._task_to_dict(task, tasks, names) for key, task in tasks.items()},
            "root": names.get(workflow.task_tree.id) or str(workflow.task_tree.id),
        }

    def _task_to_dict(self, task: Any, tasks: dict[UUID, Any], names: dict[UUID, str]) -> Any:
        if type(task) is not Task:
            return self.registry.convert(task)  # not ours to shortcut (never the case today)
        return _task_to_dict(self.registry, task, tasks, names)

    def tasks_from_dict(self, tasks: dict[str, Any], workflow: Any) -> dict[UUID, Any]:
        """`mapping_from_dict(tasks, UUID, workflow=workflow)`, each task id parsed once."""
        ids = {key: UUID(key) for key in tasks}
        restored: dict[UUID, Any] = {}
        for key, dct in tasks.items():
            if dct.get("typename") == _TASK_TYPENAME:
                restored[ids[key]] = _task_from_dict(self.registry, dct, workflow, ids)
            else:
                restored[ids[key]] = self.registry.restore(dct, workflow=workflow)
        return restored


class _SpeclessWorkflowConverter(_TaskMapConverter, BpmnWorkflowConverter):
    """Converts a top-level workflow without its spec; restoring takes compiled specs as arguments."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct = self.workflow_to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.tasks_from_dict(dct["tasks"], workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = []
        return workflow


class _SubWorkflowConverter(_TaskMapConverter, BpmnSubWorkflowConverter):
    """SpiffWorkflow's sub-process converter, with the task map converted as for the top level."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct = self.workflow_to_dict(workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct

    def from_dict(self, dct: dict[str, Any], task: Any, top_workflow: Any) -> Any:
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        subprocess.tasks = self.tasks_from_dict(dct["tasks"], subprocess)
        subprocess.task_tree = subprocess.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(subprocess, dct)
        return subprocess


# What `json.loads` makes of a JSON scalar: nothing to restore in it.
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _InPlaceRegistry(DefaultRegistry):
    """SpiffWorkflow's registry, restoring plain data in place instead of copying it value by value.

    SpiffWorkflow's `restore` calls itself once per value and rebuilds every dict and list: ~35 ms
    for 1 MB of instance data, on every step. `load` only ever restores the fresh output of
    `json.loads`, which nothing else holds, so containers are kept and only the values that do need
    restoring (dicts tagged with a `typename`) are replaced. Anything else takes SpiffWorkflow's path.
    """

    def restore(self, val: Any, **kwargs: Any) -> Any:
        kind = type(val)
        if kind is dict and "typename" not in val:
            for key, item in val.items():
                if type(item) not in _SCALARS:
                    restored = self.restore(item, **kwargs)
                    if restored is not item:
                        val[key] = restored  # replacing a value keeps the dict's size: safe while iterating
            return val
        if kind is list:
            for index, item in enumerate(val):
                if type(item) not in _SCALARS:
                    val[index] = self.restore(item, **kwargs)
            return val
        return super().restore(val, **kwargs)


def _build_registry() -> Any:
    config = dict(SPIFF_CONFIG)
    config[PatchbayWorkflow] = _SpeclessWorkflowConverter
    config[PatchbaySubWorkflow] = _SubWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config, registry=_InPlaceRegistry())
    # Script data may hold these; JSON has no type for them, so they are tagged and restored exactly.
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(time, lambda v: {"value": v.isoformat()}, lambda v: time.fromisoformat(v["value"]))
    registry.register(set, lambda v: {"items": sorted(v, key=repr)}, lambda v: set(v["items"]),
                      typename="set")
    registry.register(frozenset, lambda v: {"items": sorted(v, key=repr)}, lambda v: frozenset(v["items"]),
                      typename="frozenset")
    return registry


_SERIALIZER = BpmnWorkflowSerializer(registry=_build_registry())


def dump(workflow: Any) -> str:
    """Serialize an instance (not its spec) to JSON text."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
        dct[VERSION_KEY] = SNAPSHOT_VERSION
        return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load(text: str, *, spec: Any, subprocess_specs: dict[str, Any]) -> Any:
    """Restore an instance from `dump` output onto already compiled specs (upgrading old formats)."""
    dct = json.loads(text)
    dct = upgrade(dct)
    dct.pop(VERSION_KEY, None)
    return _SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
