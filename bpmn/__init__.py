"""Patchbay's engine layer: pure Python over SpiffWorkflow.

Public API (SpiffWorkflow objects never leave this package):

- `validate(source, operations=...)` -> `ValidationReport` listing every problem of an uploaded model;
- `Engine`: a state-in/state-out facade. Each command takes a `ModelSource` and a snapshot (text)
  and returns a `StepResult` with the new snapshot and the effects to carry out;
- the restricted expression language in `bpmn.expressions`.
"""

from bpmn.engine import Engine
from bpmn.errors import BpmnError, CommandRejected, ExpressionError, InvalidModel, StepFailed
from bpmn.types import (
    AuditEvent,
    IncidentReport,
    MessageSubscription,
    ModelSource,
    ModelTraits,
    Problem,
    ServiceCallRequest,
    SignalSubscription,
    StartEventInfo,
    StartTrigger,
    StepResult,
    ThrownMessage,
    ThrownSignal,
    ValidationReport,
    WorkItemRequest,
)
from bpmn.validation import validate

__all__ = [
    "AuditEvent",
    "BpmnError",
    "CommandRejected",
    "Engine",
    "ExpressionError",
    "IncidentReport",
    "InvalidModel",
    "MessageSubscription",
    "ModelSource",
    "ModelTraits",
    "Problem",
    "ServiceCallRequest",
    "SignalSubscription",
    "StartEventInfo",
    "StartTrigger",
    "StepFailed",
    "StepResult",
    "ThrownMessage",
    "ThrownSignal",
    "ValidationReport",
    "WorkItemRequest",
    "validate",
]
