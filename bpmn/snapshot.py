"""Instance snapshots: the state of one instance, without its spec, as JSON text.

A naive SpiffWorkflow serialization is two thirds spec. Specs are immutable per definition version
and cached by content hash, so a snapshot holds instance state only; restoring takes the compiled
spec from the cache. Snapshots are text, not `jsonb`: SpiffWorkflow restores tasks in the order of
its task map (each task's data is a delta against its parent), and `jsonb` reorders object keys.
`SNAPSHOT_VERSION` changes whenever the format does; `bpmn.migrations` upgrades older snapshots.
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
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from bpmn.migrations import SNAPSHOT_VERSION, upgrade
from bpmn.workflow import PatchbaySubWorkflow, PatchbayWorkflow

VERSION_KEY = "snapshot_version"


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Converts a top-level workflow without its spec; restoring takes compiled specs as arguments."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = []
        return workflow


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
    config[PatchbaySubWorkflow] = BpmnSubWorkflowConverter
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
