"""Plain data crossing the boundary of the engine layer.

Nothing in here refers to SpiffWorkflow: callers (the Django apps) get these dataclasses and JSON-safe
values only, so storage, locking and transport stay outside `bpmn`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

Severity = Literal["error", "warning"]
InstanceStatus = Literal["running", "waiting", "completed", "failed", "cancelled"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model, located as precisely as the input allows."""

    code: str
    message: str
    element_id: str | None = None
    line: int | None = None
    file: str | None = None
    severity: Severity = "error"

    def as_dict(self) -> dict[str, Any]:
        """The API's problem shape: `code`, `message` and, when known, `element_id`, `line`, `file`."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.element_id is not None:
            out["element_id"] = self.element_id
        if self.line is not None:
            out["line"] = self.line
        if self.file is not None:
            out["file"] = self.file
        return out


@dataclass(frozen=True)
class ModelSource:
    """A model as uploaded: one `.bpmn` file or a `.zip` holding several `.bpmn`/`.dmn`/form files."""

    filename: str
    content: bytes

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the uploaded bytes: the identity of a definition version and the spec cache key."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a model: every problem found, plus what a valid model is called."""

    problems: tuple[Problem, ...]
    process_key: str | None = None
    process_name: str | None = None
    content_hash: str = ""
    files: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems that make the model undeployable."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems worth telling the analyst about that do not block deployment."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when the model can be deployed."""
        return not self.errors and self.process_key is not None


@dataclass(frozen=True)
class StartEventInfo:
    """A start event of a model's executable process, as a scheduler or message router needs it.

    `kind` is `none`, `timer`, `message`, `signal` or `other`; `timer_kind` is `duration`, `date` or
    `cycle` and `timer_text` the timer as written in the model; `message_name` names a message start
    event, `signal_name` a signal start event.
    """

    activity_id: str
    kind: Literal["none", "timer", "message", "signal", "other"]
    timer_kind: Literal["duration", "date", "cycle"] | None = None
    timer_text: str | None = None
    message_name: str | None = None
    signal_name: str | None = None


@dataclass(frozen=True)
class StartTrigger:
    """Why an instance starts: a timer start event fired, or a message or signal start event caught one."""

    kind: Literal["timer", "message", "signal"]
    activity_id: str | None = None
    message_name: str | None = None
    signal_name: str | None = None


@dataclass(frozen=True)
class WorkItemRequest:
    """A user or manual task that became ready and waits for a person."""

    id: str
    activity_id: str
    name: str
    kind: Literal["user", "manual"]
    lane: str | None = None
    documentation: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceCallRequest:
    """A service task parked until a worker runs its operation outside the instance lock."""

    id: str
    activity_id: str
    operation: str
    parameters: dict[str, Any]
    result_variable: str


@dataclass(frozen=True)
class ThrownMessage:
    """A message thrown by the instance that must be routed to whoever waits for it."""

    name: str
    correlation: dict[str, Any]
    payload: Any
    activity_id: str | None = None


@dataclass(frozen=True)
class ThrownSignal:
    """A signal the instance threw: the caller broadcasts it to every *other* waiting instance.

    Catchers in the throwing instance already got it during the step (whether or not they did, it
    is reported: signals are broadcast, BPMN 10.5.1).
    """

    name: str
    payload: Any = None
    activity_id: str | None = None


@dataclass(frozen=True)
class MessageSubscription:
    """A catch event or receive task waiting for a message, with the correlation values it expects."""

    task_id: str
    activity_id: str
    name: str
    correlation: dict[str, Any]


@dataclass(frozen=True)
class SignalSubscription:
    """Something in a waiting instance that catches signal `name` now: a catch or boundary event, a
    receive-like event of an event-based gateway, or the start event of an event sub-process."""

    activity_id: str
    name: str


@dataclass(frozen=True)
class IncidentReport:
    """Something the instance cannot get past on its own; ops must look at it."""

    kind: str
    message: str
    activity_id: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One entry for the append-only audit trail (dotted, past tense type)."""

    type: str
    activity_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    """Everything a step produced: the new state plus the effects the caller must carry out."""

    snapshot: str
    snapshot_version: int
    status: InstanceStatus
    variables: dict[str, Any]
    active_activities: list[str]
    completed_activities: list[str]
    work_items_opened: list[WorkItemRequest]
    work_items_closed: list[str]
    service_calls: list[ServiceCallRequest]
    messages_thrown: list[ThrownMessage]
    subscriptions: list[MessageSubscription]
    next_timer_at: datetime | None
    incidents: list[IncidentReport]
    audit: list[AuditEvent]
    signals_thrown: list[ThrownSignal] = field(default_factory=list)
    signal_subscriptions: list[SignalSubscription] = field(default_factory=list)
    # Call ids (`ServiceCallRequest.id`) of service tasks that were parked before the step and lost
    # their token without an answer (a boundary event, a cancel, a failed instance): their calls are moot.
    calls_withdrawn: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelTraits:
    """What a model can do at all, so the caller can skip bookkeeping that can never apply to it."""

    catches_messages: bool  # a catch event, receive task, boundary or event sub-process start on a message
    catches_signals: bool  # the same for signals
