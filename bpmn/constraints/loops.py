"""Loop and multi-instance rules, and conditions that must be boolean."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import SUBPROCESSES, Model, children, local_ref, tag, texts
from bpmn.constraints.registry import Finding, at, rule

_BOOLEAN_SITES = ("completionCondition", "loopCondition", "conditionExpression", "condition",
                  "activationCondition")


def _literal(text: str) -> Any:
    """The value of a literal expression (number, text...), or None when it is not a plain literal."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


@rule("EXT.071", "conditions are boolean expressions, not other literals")
def boolean_conditions(model: Model) -> Iterator[Finding]:
    for element in model.all(*_BOOLEAN_SITES):
        text = (element.text or "").strip()
        value = _literal(text) if text else None
        if value is not None and not isinstance(value, bool):
            owner = element.getparent()
            yield at(element, f"the {tag(element)} of {_owner_id(owner)} is the literal {text}, not a "
                              "boolean expression")


def _owner_id(element: Any) -> str:
    while element is not None and not element.get("id"):
        element = element.getparent()
    return str(element.get("id")) if element is not None else "the model"


@rule("EXT.041", "an activity has at most one loop characteristic", on_schema_errors=True)
def one_loop(model: Model) -> Iterator[Finding]:
    for element in model.root.iter():
        loops = children(element, "standardLoopCharacteristics", "multiInstanceLoopCharacteristics")
        if len(loops) > 1:
            yield at(element, f"{element.get('id')} has both a standard loop and a multi-instance marker")


@rule("LOOP.001", "a loop maximum and a literal loop cardinality are not negative")
def loop_numbers(model: Model) -> Iterator[Finding]:
    for loop in model.all("standardLoopCharacteristics"):
        maximum = loop.get("loopMaximum")
        if maximum is not None and maximum.strip().lstrip("-").isdigit() and int(maximum) < 0:
            yield at(loop, f"loopMaximum of {_owner_id(loop)} is {maximum}; it must not be negative")
    for cardinality in model.all("loopCardinality"):
        value = _literal(cardinality.text or "")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            yield at(cardinality, f"the loopCardinality of {_owner_id(cardinality)} is {value}; it must not "
                                  "be negative")


def _io_ids(activity: Any, kind: str) -> set[str] | None:
    """Ids of the activity's data inputs (`kind`="dataInput") or outputs; None without an ioSpecification."""
    specs = children(activity, "ioSpecification")
    return {str(e.get("id")) for e in children(specs[0], kind)} if specs else None


@rule("EXT.068", "a multi-instance task's loopDataInputRef names a data input of the task")
def loop_input_is_task_input(model: Model) -> Iterator[Finding]:
    # Only where the task declares its data (an ioSpecification): without one, Patchbay (like
    # SpiffWorkflow, Camunda and Flowable) reads loopDataInputRef as the name of a process variable.
    for loop in model.all("multiInstanceLoopCharacteristics"):
        task = loop.getparent()
        inputs = _io_ids(task, "dataInput") if tag(task) not in SUBPROCESSES else None
        for ref in texts(loop, "loopDataInputRef"):
            if inputs is not None and local_ref(ref) not in inputs:
                yield at(loop, f"the loopDataInputRef '{ref}' of {_owner_id(task)} is not one of its data inputs "
                               f"({', '.join(sorted(inputs)) or 'none'})")


def _item(model: Model, ref: str | None) -> Any | None:
    item = model.ref(ref)
    return item if item is not None and tag(item) == "itemDefinition" else None


def _scalar_of(model: Model, loop: Any, ref_tag: str, data_tag: str, item_tag: str) -> Iterator[Finding]:
    for ref in texts(loop, ref_tag):
        data = model.ref(ref)
        if data is None or tag(data) != data_tag:
            continue
        collection = _item(model, data.get("itemSubjectRef"))
        for item_element in children(loop, item_tag):
            item = _item(model, item_element.get("itemSubjectRef"))
            if collection is None or item is None:
                continue
            if item.get("isCollection") == "true":
                yield at(item_element, f"the {item_tag} of {_owner_id(loop)} is a collection; it must be one "
                                       f"element of the collection {ref}")
            elif collection.get("structureRef") and item.get("structureRef") and \
                    collection.get("structureRef") != item.get("structureRef"):
                yield at(item_element, f"the {item_tag} of {_owner_id(loop)} has structure "
                                       f"{item.get('structureRef')}, but {ref} holds {collection.get('structureRef')}")


@rule("EXT.069", "a multi-instance outputDataItem is one element of the loopDataOutputRef collection")
def output_item_scalar(model: Model) -> Iterator[Finding]:
    for loop in model.all("multiInstanceLoopCharacteristics"):
        yield from _scalar_of(model, loop, "loopDataOutputRef", "dataOutput", "outputDataItem")


@rule("EXT.070", "a multi-instance inputDataItem is one element of the loopDataInputRef collection")
def input_item_scalar(model: Model) -> Iterator[Finding]:
    for loop in model.all("multiInstanceLoopCharacteristics"):
        yield from _scalar_of(model, loop, "loopDataInputRef", "dataInput", "inputDataItem")
