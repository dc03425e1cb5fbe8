"""Where elements may stand and what they must hold: resource roles, properties, transactions,
sub-processes (BPMN 2.0.2, 10.3 Activities, 10.4.1 Properties, 10.3.5 Transactions, 10.2 Resources)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bpmn.constraints.model import ACTIVITIES, EVENTS, Model, children, tag
from bpmn.constraints.registry import Finding, at, rule

_RESOURCE_ROLES = ("resourceRole", "performer", "humanPerformer", "potentialOwner")
# Property is owned by a process, an activity or an event (10.4.1); anywhere else it means nothing.
_PROPERTY_OWNERS = frozenset(("process", *ACTIVITIES, "adHocSubProcess", *EVENTS))
# A transaction's method is one of the three the specification defines, or a URI naming another protocol.
_METHODS = frozenset(("##Compensate", "##Image", "##Store"))
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`%]*(?:%[0-9A-Fa-f]{2}[^\s<>\"{}|\\^`%]*)*")


@rule("EXT.039", "a resource role names a resource or gives a resource assignment expression, not both",
      on_schema_errors=True)
def resource_or_expression(model: Model) -> Iterator[Finding]:
    for role in model.all(*_RESOURCE_ROLES):
        if children(role, "resourceRef") and children(role, "resourceAssignmentExpression"):
            yield at(role, f"the {tag(role)} {role.get('id')} has both a resourceRef and a "
                           "resourceAssignmentExpression; use one of them")


@rule("EXT.040", "resource parameter bindings need the resource they bind (resourceRef)", on_schema_errors=True)
def bindings_need_resource(model: Model) -> Iterator[Finding]:
    for role in model.all(*_RESOURCE_ROLES):
        if children(role, "resourceParameterBinding") and not children(role, "resourceRef"):
            yield at(role, f"the {tag(role)} {role.get('id')} binds resource parameters but names no resource "
                           "(resourceRef)")


@rule("EXT.078", "a property belongs to a process, an activity or an event", on_schema_errors=True)
def property_owner(model: Model) -> Iterator[Finding]:
    for element in model.all("property"):
        owner = element.getparent()
        if tag(owner) not in _PROPERTY_OWNERS:
            yield at(element, f"the property {element.get('id')} stands in a {tag(owner) or 'foreign'} element; "
                              "properties belong to a process, an activity or an event")


@rule("EXT.060", "a transaction's method is ##Compensate, ##Store, ##Image or a URI", on_schema_errors=True)
def transaction_method(model: Model) -> Iterator[Finding]:
    for transaction in model.all("transaction"):
        method = (transaction.get("method") or "").strip()
        if method and method not in _METHODS and not _URI.fullmatch(method):
            yield at(transaction, f"the method '{method}' of transaction {transaction.get('id')} is not "
                                  "##Compensate, ##Store, ##Image or a URI")


@rule("EXT.061", "an ad-hoc sub-process contains at least one activity")
def adhoc_activities(model: Model) -> Iterator[Finding]:
    for sub in model.all("adHocSubProcess"):
        if not children(sub, *ACTIVITIES):
            yield at(sub, f"the ad-hoc sub-process {sub.get('id')} contains no activity")


@rule("EXT.079", "an embedded sub-process has no ioSpecification (it shares its parent's data)")
def subprocess_io(model: Model) -> Iterator[Finding]:
    for sub in model.all("subProcess", "transaction", "adHocSubProcess"):
        for spec in children(sub, "ioSpecification"):
            yield at(spec, f"the sub-process {sub.get('id')} has an ioSpecification; an embedded sub-process "
                           "reads and writes its parent's data directly")
