"""What a compiled model can do at all (`ModelTraits`), read once from its specs.

The caller keeps index tables beside the snapshot (message and signal subscriptions); a model that
can never wait for a message has nothing to index, so its steps need not look at the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent

from bpmn.types import ModelTraits


def model_traits(spec: Any, subprocess_specs: dict[str, Any]) -> ModelTraits:
    """The traits of a process spec and every process it may call or embed."""
    caught = list(_caught_definitions([spec, *subprocess_specs.values()]))
    return ModelTraits(
        catches_messages=any(isinstance(d, MessageEventDefinition) for d in caught),
        catches_signals=any(isinstance(d, SignalEventDefinition) for d in caught),
    )


def _caught_definitions(specs: list[Any]) -> Iterator[Any]:
    for process in specs:
        for task_spec in process.task_specs.values():
            if not isinstance(task_spec, CatchingEvent):
                continue  # receive tasks are catching events too (SpiffWorkflow's ReceiveTask)
            definition = task_spec.event_definition
            if isinstance(definition, MultipleEventDefinition):
                yield from definition.event_definitions
            else:
                yield definition
