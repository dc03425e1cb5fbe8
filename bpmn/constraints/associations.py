"""Data association rules: which way data may flow, and what an association without a transformation
may copy (BPMN 2.0.2, 10.4.1 Data Inputs and Outputs of a process, 10.4.3 Data Associations).

- A process's own data inputs are what its caller hands in: inside the process they are read, never
  written, so no data output association targets one (EXT.080); its data outputs are what it hands
  back, written and never read inside, so no data input association reads one (EXT.082).
- Without a transformation, an association copies one value unchanged: it has a single source
  (EXT.092), and source and target have the same item definition (EXT.091) when both declare one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bpmn.constraints.model import Model, children, tag, texts
from bpmn.constraints.registry import Finding, at, rule

_ASSOCIATIONS = ("dataInputAssociation", "dataOutputAssociation")


def _process_io(model: Model, kind: str) -> dict[str, Any]:
    """The data inputs (`kind`="dataInput") or outputs of every process's own ioSpecification, by id."""
    found: dict[str, Any] = {}
    for process in model.all("process"):
        for spec in children(process, "ioSpecification"):
            found.update({e.get("id"): e for e in children(spec, kind) if e.get("id")})
    return found


@rule("EXT.080", "a process's own data inputs are never the target of a data output association")
def process_inputs_read_only(model: Model) -> Iterator[Finding]:
    yield from _wrong_way(model, _Direction("dataInput", "dataOutputAssociation", "data output association",
                                            "targetRef", "writes", "data input", "inputs can only be read"))


@rule("EXT.082", "a process's own data outputs are never the source of a data input association")
def process_outputs_write_only(model: Model) -> Iterator[Finding]:
    yield from _wrong_way(model, _Direction("dataOutput", "dataInputAssociation", "data input association",
                                            "sourceRef", "reads", "data output", "outputs can only be written"))


@dataclass(frozen=True)
class _Direction:
    kind: str  # the process's own ioSpecification element
    association: str  # the association that must not use it
    label: str
    end: str  # the association's end that must not name it
    verb: str
    noun: str
    why: str


def _wrong_way(model: Model, way: _Direction) -> Iterator[Finding]:
    own = _process_io(model, way.kind)
    for association in model.all(way.association):
        for ref in texts(association, way.end):
            if ref in own:
                yield at(association, f"the {way.label} {association.get('id')} {way.verb} '{ref}', a "
                                      f"{way.noun} of the process; a process's {way.why}")


@rule("EXT.092", "a data association without a transformation has exactly one source")
def single_source(model: Model) -> Iterator[Finding]:
    for association in model.all(*_ASSOCIATIONS):
        sources = texts(association, "sourceRef")
        if len(sources) > 1 and not children(association, "transformation"):
            yield at(association, f"the {tag(association)} {association.get('id')} has {len(sources)} sources "
                                  f"({', '.join(sources)}) but no transformation to combine them")


def _item_of(model: Model, ref: str) -> tuple[str | None, Any | None]:
    """(itemSubjectRef, its itemDefinition) of an item-aware element; references resolve to what they name."""
    element = model.ref(ref)
    if element is not None and tag(element) in ("dataObjectReference", "dataStoreReference"):
        element = model.ref(element.get("dataObjectRef") or element.get("dataStoreRef"))
    item_ref = element.get("itemSubjectRef") if element is not None else None
    item = model.ref(item_ref)
    return item_ref, item if item is not None and tag(item) == "itemDefinition" else None


def _same_type(first: tuple[str | None, Any | None], second: tuple[str | None, Any | None]) -> bool:
    """Same item definition, or two that name the same structure; an undeclared type matches anything."""
    (first_ref, first_item), (second_ref, second_item) = first, second
    if not first_ref or not second_ref or first_item is None or second_item is None:
        return True
    if first_item is second_item:
        return True
    return bool(first_item.get("structureRef")) and first_item.get("structureRef") == second_item.get("structureRef")


@rule("EXT.091", "a data association without a transformation joins data of the same item definition")
def same_item(model: Model) -> Iterator[Finding]:
    for association in model.all(*_ASSOCIATIONS):
        sources, targets = texts(association, "sourceRef"), texts(association, "targetRef")
        if children(association, "transformation") or len(sources) != 1 or len(targets) != 1:
            continue
        source, target = _item_of(model, sources[0]), _item_of(model, targets[0])
        if not _same_type(source, target):
            yield at(association, f"the {tag(association)} {association.get('id')} copies '{sources[0]}' "
                                  f"({source[0]}) to '{targets[0]}' ({target[0]}), which have different item "
                                  "definitions; add a transformation or use one item definition")
