"""The commands a step applies, as plain dataclasses that serialise to JSON.

A command is stored with an incident (so a retry re-runs exactly what failed) and travels through
Celery as JSON (`step_instance`), so each one round-trips through `to_json()` / `command_from_json()`.
Dispatch goes through a registry keyed by `kind`, not an `isinstance` chain.

Engine commands (`EngineCommand.run`) call the `bpmn.Engine` facade; lifecycle commands (suspend,
resume) only change the instance's status and never touch the engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from bpmn import Engine, ModelSource, StartTrigger, StepResult


@dataclass(frozen=True)
class StepContext:
    """What an engine command needs: the engine, the model, the stored state and the step's clock."""

    engine: Engine
    source: ModelSource
    snapshot: str
    variables: dict[str, Any]
    now: datetime


@dataclass(frozen=True)
class Command:
    """Base of every command. `kind` names it in JSON; the class flags say where it applies."""

    kind: ClassVar[str] = ""
    # Suspension freezes an instance: only these commands still apply to a suspended one.
    allowed_when_suspended: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        """The command as JSON-safe data, with its `kind`."""
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_json_fields(cls, data: dict[str, Any]) -> Command:
        """Build the command from `to_json()` output (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True)
class EngineCommand(Command):
    """A command the engine applies to the instance's snapshot."""

    def run(self, ctx: StepContext) -> StepResult:
        """Apply the command through the engine facade and return the step's result."""
        raise NotImplementedError


@dataclass(frozen=True)
class LifecycleCommand(Command):
    """A command that changes only the instance's status (suspend, resume): no engine involved."""


@dataclass(frozen=True)
class StartCommand(EngineCommand):
    """Create the engine instance and run it until it waits (the first step of every instance)."""

    kind: ClassVar[str] = "start"
    variables: dict[str, Any] = field(default_factory=dict)
    # The start event that fired, as JSON (`{"kind": "timer"|"message", "activity_id", "message_name"}`);
    # None for a plain start. JSON rather than a `StartTrigger` so the command round-trips unchanged.
    trigger: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """As `Command.to_json`, without `trigger` for a plain start (the shape stored before triggers)."""
        data = super().to_json()
        if data.get("trigger") is None:
            data.pop("trigger", None)
        return data

    def run(self, ctx: StepContext) -> StepResult:
        trigger = StartTrigger(**self.trigger) if self.trigger else None
        return ctx.engine.start(ctx.source, variables=dict(self.variables), trigger=trigger, now=ctx.now)


@dataclass(frozen=True)
class CompleteWorkItemCommand(EngineCommand):
    """Complete a waiting user/manual task with the submitted variables."""

    kind: ClassVar[str] = "complete_work_item"
    work_item_id: str = ""
    variables: dict[str, Any] = field(default_factory=dict)

    def run(self, ctx: StepContext) -> StepResult:
        return ctx.engine.complete_work_item(
            ctx.source,
            ctx.snapshot,
            work_item_id=self.work_item_id,
            variables=dict(self.variables),
            now=ctx.now,
        )


@dataclass(frozen=True)
class DeliverMessageCommand(EngineCommand):
    """Deliver a message to a waiting catch event or receive task of the instance."""

    kind: ClassVar[str] = "deliver_message"
    name: str = ""
    correlation: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    def run(self, ctx: StepContext) -> StepResult:
        return ctx.engine.deliver_message(
            ctx.source,
            ctx.snapshot,
            name=self.name,
            correlation=dict(self.correlation),
            variables=dict(self.variables),
            now=ctx.now,
        )


@dataclass(frozen=True)
class ResumeServiceTaskCommand(EngineCommand):
    """Complete a parked service task with its operation's result."""

    kind: ClassVar[str] = "resume_service_task"
    call_id: str = ""
    result: Any = None

    def run(self, ctx: StepContext) -> StepResult:
        return ctx.engine.resume_service_task(
            ctx.source, ctx.snapshot, call_id=self.call_id, result=self.result, now=ctx.now
        )


@dataclass(frozen=True)
class FailServiceTaskCommand(EngineCommand):
    """Throw a BPMN error from a parked service task (a boundary event may catch it)."""

    kind: ClassVar[str] = "fail_service_task"
    call_id: str = ""
    error_code: str = ""
    message: str = ""

    def run(self, ctx: StepContext) -> StepResult:
        return ctx.engine.fail_service_task(
            ctx.source,
            ctx.snapshot,
            call_id=self.call_id,
            error_code=self.error_code,
            message=self.message,
            now=ctx.now,
        )


@dataclass(frozen=True)
class FireTimersCommand(EngineCommand):
    """Fire every timer due at the step's clock and run on (what the timer sweep sends)."""

    kind: ClassVar[str] = "fire_timers"

    def run(self, ctx: StepContext) -> StepResult:
        return ctx.engine.fire_due_timers(ctx.source, ctx.snapshot, now=ctx.now)


@dataclass(frozen=True)
class CancelCommand(EngineCommand):
    """Cancel the instance; also applies to a suspended one, and to one whose start never succeeded."""

    kind: ClassVar[str] = "cancel"
    allowed_when_suspended: ClassVar[bool] = True

    def run(self, ctx: StepContext) -> StepResult:
        if not ctx.snapshot:
            # The start step failed, so there is no engine state to cancel: just end the instance.
            return _cancelled_without_engine(ctx.variables)
        return ctx.engine.cancel(ctx.source, ctx.snapshot, now=ctx.now)


@dataclass(frozen=True)
class SuspendCommand(LifecycleCommand):
    """Freeze the instance: no command but resume and cancel applies, timers wait."""

    kind: ClassVar[str] = "suspend"


@dataclass(frozen=True)
class ResumeCommand(LifecycleCommand):
    """Unfreeze a suspended instance: its status goes back to what it was before."""

    kind: ClassVar[str] = "resume"
    allowed_when_suspended: ClassVar[bool] = True


def _cancelled_without_engine(variables: dict[str, Any]) -> StepResult:
    return StepResult(
        snapshot="",
        snapshot_version=0,
        status="cancelled",
        variables=variables,
        active_activities=[],
        completed_activities=[],
        work_items_opened=[],
        work_items_closed=[],
        service_calls=[],
        messages_thrown=[],
        subscriptions=[],
        next_timer_at=None,
        incidents=[],
        audit=[],
    )


COMMANDS: dict[str, type[Command]] = {
    cls.kind: cls
    for cls in (
        StartCommand,
        CompleteWorkItemCommand,
        DeliverMessageCommand,
        ResumeServiceTaskCommand,
        FailServiceTaskCommand,
        FireTimersCommand,
        CancelCommand,
        SuspendCommand,
        ResumeCommand,
    )
}


def command_from_json(data: dict[str, Any]) -> Command:
    """Rebuild a command from `Command.to_json()` output; `ValueError` for an unknown kind."""
    kind = data.get("kind")
    cls = COMMANDS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown command kind {kind!r}")
    return cls.from_json_fields(data)
