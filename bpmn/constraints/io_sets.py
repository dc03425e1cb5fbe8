"""Input/output specification rules: data inputs and outputs belong to sets, and sets agree.

BPMN 2.0.2, 10.4.2 (InputOutputSpecification, InputSet, OutputSet): every DataInput is in at least
one InputSet (EXT.084) and every DataOutput in at least one OutputSet (EXT.088); the optional and
"while executing" inputs (outputs) of a set are a subset of that set's own data inputs (outputs)
(EXT.085, EXT.086, EXT.089, EXT.090); and an InputSet and an OutputSet that name each other do so
in both directions (EXT.087).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import Model, children, tag, texts
from bpmn.constraints.registry import Finding, at, rule


def _owner(spec: Any) -> str:
    parent = spec.getparent()
    return str(parent.get("id")) if parent is not None and parent.get("id") else "the model"


def _unlisted(model: Model, data: str, set_tag: str, refs: str) -> Iterator[Finding]:
    for spec in model.all("ioSpecification"):
        listed = {ref for io_set in children(spec, set_tag) for ref in texts(io_set, refs)}
        for element in children(spec, data):
            if element.get("id") not in listed:
                yield at(element, f"the {data} {element.get('id')} of {_owner(spec)} is in no {set_tag} "
                                  f"(list it in the {refs} of one)")


@rule("EXT.084", "every data input of an ioSpecification is listed by at least one input set")
def inputs_in_sets(model: Model) -> Iterator[Finding]:
    yield from _unlisted(model, "dataInput", "inputSet", "dataInputRefs")


@rule("EXT.088", "every data output of an ioSpecification is listed by at least one output set")
def outputs_in_sets(model: Model) -> Iterator[Finding]:
    yield from _unlisted(model, "dataOutput", "outputSet", "dataOutputRefs")


def _subset(model: Model, set_tag: str, refs: str, subset: str) -> Iterator[Finding]:
    for io_set in model.all(set_tag):
        own = set(texts(io_set, refs))
        for ref in texts(io_set, subset):
            if ref not in own:
                where = io_set.get("id") or f"an {set_tag} of {_owner(io_set.getparent())}"
                yield at(io_set, f"{subset} '{ref}' of {where} is not among its {refs}")


@rule("EXT.085", "an input set's optional inputs are among its own data inputs")
def optional_inputs(model: Model) -> Iterator[Finding]:
    yield from _subset(model, "inputSet", "dataInputRefs", "optionalInputRefs")


@rule("EXT.086", "an input set's while-executing inputs are among its own data inputs")
def while_executing_inputs(model: Model) -> Iterator[Finding]:
    yield from _subset(model, "inputSet", "dataInputRefs", "whileExecutingInputRefs")


@rule("EXT.089", "an output set's optional outputs are among its own data outputs")
def optional_outputs(model: Model) -> Iterator[Finding]:
    yield from _subset(model, "outputSet", "dataOutputRefs", "optionalOutputRefs")


@rule("EXT.090", "an output set's while-executing outputs are among its own data outputs")
def while_executing_outputs(model: Model) -> Iterator[Finding]:
    yield from _subset(model, "outputSet", "dataOutputRefs", "whileExecutingOutputRefs")


def _one_way(model: Model, io_set: Any, refs: str, back: str) -> Iterator[Finding]:
    for ref in texts(io_set, refs):
        other = model.ref(ref)
        if other is None or tag(other) not in ("inputSet", "outputSet"):
            continue  # REF.001 reports references that do not resolve
        if io_set.get("id") not in texts(other, back):
            yield at(io_set, f"{tag(io_set)} {io_set.get('id')} names {tag(other)} '{ref}' in its {refs}, but "
                             f"'{ref}' does not name {io_set.get('id')} in its {back}")


@rule("EXT.087", "input sets and output sets that name each other do so in both directions")
def paired_sets(model: Model) -> Iterator[Finding]:
    for io_set in model.all("inputSet"):
        yield from _one_way(model, io_set, "outputSetRefs", "inputSetRefs")
    for io_set in model.all("outputSet"):
        yield from _one_way(model, io_set, "inputSetRefs", "outputSetRefs")
