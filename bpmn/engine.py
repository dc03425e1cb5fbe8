"""The engine facade: state in, state out.

Django owns storage and locks. Every command here takes the model and the instance snapshot, applies
one change, runs the engine until every token waits, and returns a `StepResult` holding the new
snapshot and the effects the caller must carry out. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from bpmn import runner, start_events
from bpmn import snapshot as snapshots
from bpmn.errors import CommandRejected
from bpmn.expressions import DEFAULT_LIMITS, Limits
from bpmn.harvest import Observation
from bpmn.parser import CompiledModel, run_with_deep_stack
from bpmn.script_engine import RestrictedScriptEngine
from bpmn.spec_cache import SpecCache
from bpmn.traits import model_traits
from bpmn.types import ModelSource, ModelTraits, StartEventInfo, StartTrigger, StepResult
from bpmn.workflow import PatchbayWorkflow

Command = Callable[[Any, runner.StepLog], None]
# Below this many elements SpiffWorkflow's recursive prediction fits in the default recursion limit.
DEEP_MODEL_ELEMENTS = 300


class Engine:
    """Runs commands against instances of deployed models.

    Keep one `Engine` per process: it caches compiled specs by content hash, so a step never parses
    XML, and it is safe to share between threads (each call works on its own workflow object).
    """

    def __init__(self, *, operations: Collection[str] | None = None, spec_cache_size: int = 256,
                 limits: Limits = DEFAULT_LIMITS, max_rounds: int = runner.DEFAULT_MAX_ROUNDS) -> None:
        self.operations = operations
        self.specs = SpecCache(spec_cache_size)
        self.script_engine = RestrictedScriptEngine(limits)
        self.max_rounds = max_rounds
        self._traits: dict[str, ModelTraits] = {}

    # -- commands ----------------------------------------------------------------------------------

    def start_events(self, source: ModelSource) -> list[StartEventInfo]:
        """The start events of the model's executable process (for schedulers and message routing)."""
        return start_events.describe(self.specs.get(source).spec)

    def traits(self, source: ModelSource) -> ModelTraits:
        """What the model can do at all (e.g. wait for a message), read once per compiled spec."""
        key = source.content_hash
        found = self._traits.get(key)
        if found is None:
            compiled = self.specs.get(source)
            found = model_traits(compiled.spec, compiled.subprocess_specs)
            if len(self._traits) >= self.specs.size:
                self._traits.clear()  # rare (more models than the spec cache holds); recomputing is cheap
            self._traits[key] = found
        return found

    def start(self, source: ModelSource, *, variables: dict[str, Any] | None = None,
              trigger: StartTrigger | None = None, now: datetime | None = None) -> StepResult:
        """Create an instance of the model's executable process and run it until it waits.

        With a `trigger`, the named timer, message or signal start event fires at once (the caller
        decided it is due, or routed the message or broadcast the signal here); the message's or
        signal's variables become process variables.
        """
        def step(compiled: CompiledModel) -> StepResult:
            workflow = PatchbayWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=self.script_engine)
            for task in workflow.get_tasks(state=runner.READY):
                task.data.update(variables or {})
            log = runner.StepLog(before=Observation.empty())
            log.event("instance.started", data={"process_key": compiled.process_key})
            primed = start_events.prime(workflow, trigger)
            runner.run_until_waiting(workflow, max_rounds=self.max_rounds)
            rested = runner.task_states(workflow)
            fired = start_events.settle(workflow, trigger, variables or {}) or primed
            if trigger is not None:
                log.event(f"{trigger.kind}_start.fired", task=fired)
            # Settling a plain start usually changes nothing (it withdraws timer start events left
            # waiting): then the workflow is still at rest and another run would find nothing to do.
            at_rest = trigger is None and runner.task_states(workflow) == rested
            return self._finish(workflow, log, now, at_rest=at_rest)
        return self._in_engine(source, step)

    def complete_work_item(self, source: ModelSource, snapshot: str, *, work_item_id: str,
                           variables: dict[str, Any] | None = None, now: datetime | None = None) -> StepResult:
        """Complete a waiting user/manual task, merging the submitted variables into its data."""
        def command(workflow: Any, log: runner.StepLog) -> None:
            task = runner.find_task(workflow, work_item_id)
            if not (task.task_spec.manual and task.state == runner.READY):
                raise CommandRejected("work_item_not_open", f"work item {work_item_id} is not open")
            task.data.update(variables or {})
            runner.run_task(task)
            log.event("work_item.completed", task=task, data={"work_item_id": work_item_id})
        return self._apply(source, snapshot, command, now)

    def deliver_message(self, source: ModelSource, snapshot: str, *, name: str,
                        correlation: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
                        now: datetime | None = None) -> StepResult:
        """Deliver a message to the waiting catch event, receive task or event sub-process message
        start (of a running scope) whose correlation matches.

        Only this instance's own subscriptions are considered, and every correlation value the
        subscription expects must be present and equal in `correlation`.
        """
        def command(workflow: Any, log: runner.StepLog) -> None:
            task = runner.deliver_message(workflow, name, correlation or {}, variables or {})
            log.event("message.received", task=task, data={"name": name, "correlation": correlation or {}})
        return self._apply(source, snapshot, command, now)

    def deliver_signal(self, source: ModelSource, snapshot: str, *, name: str,
                       variables: dict[str, Any] | None = None, now: datetime | None = None) -> StepResult:
        """Deliver a signal thrown elsewhere (`StepResult.signals_thrown` of another instance) to this one.

        Every catch event, boundary event or event sub-process start of this instance waiting for
        signal `name` catches it; `CommandRejected` (`no_matching_subscription`) when none waits.
        """
        def command(workflow: Any, log: runner.StepLog) -> None:
            caught = runner.catch_signal(workflow, name, variables or {})
            log.event("signal.received", task=caught[0] if caught else None, data={"name": name})
        return self._apply(source, snapshot, command, now)

    def resume_service_task(self, source: ModelSource, snapshot: str, *, call_id: str, result: Any,
                            now: datetime | None = None) -> StepResult:
        """Complete a parked service task, storing the operation's result in its result variable."""
        def command(workflow: Any, log: runner.StepLog) -> None:
            task = runner.parked_service_task(workflow, call_id)
            task.data[task.task_spec.result_variable] = result
            task.complete()
            log.event("service_task.completed", task=task, data={"call_id": call_id})
        return self._apply(source, snapshot, command, now)

    def fail_service_task(self, source: ModelSource, snapshot: str, *, call_id: str, error_code: str,
                          message: str = "", now: datetime | None = None) -> StepResult:
        """Throw a BPMN error from a parked service task; an error boundary event may catch it.

        When nothing catches it, the instance fails with an `uncaught_error` incident.
        """
        def command(workflow: Any, log: runner.StepLog) -> None:
            task = runner.parked_service_task(workflow, call_id)
            log.event("service_task.failed", task=task, data={"error_code": error_code, "message": message})
            runner.throw_error(task, error_code, message)
        return self._apply(source, snapshot, command, now)

    def fire_due_timers(self, source: ModelSource, snapshot: str, *, now: datetime | None = None) -> StepResult:
        """Fire every timer due at `now` (default: the current time) and run on."""
        moment = now or datetime.now(UTC)

        def command(workflow: Any, log: runner.StepLog) -> None:
            for task in runner.fire_timers(workflow, moment):
                log.event("timer.fired", task=task)
        return self._apply(source, snapshot, command, now)

    def cancel(self, source: ModelSource, snapshot: str, *, now: datetime | None = None) -> StepResult:
        """Cancel the instance: every open task is cancelled and no work item, call or timer remains."""
        def step(compiled: CompiledModel) -> StepResult:
            workflow = self._restore(compiled, snapshot)
            log = runner.StepLog(before=Observation.of(workflow))
            workflow.cancel()
            log.event("instance.cancelled")
            return runner.result(workflow, log, status="cancelled")
        return self._in_engine(source, step)

    def inspect(self, source: ModelSource, snapshot: str) -> StepResult:
        """Describe the instance as it stands, without changing it."""
        def step(compiled: CompiledModel) -> StepResult:
            workflow = self._restore(compiled, snapshot)
            log = runner.StepLog(before=Observation.of(workflow))
            return runner.result(workflow, log, status=runner.status_of(workflow))
        return self._in_engine(source, step)

    # -- plumbing ----------------------------------------------------------------------------------

    def _restore(self, compiled: Any, snapshot: str) -> Any:
        workflow = snapshots.load(snapshot, spec=compiled.spec, subprocess_specs=compiled.subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow

    def _apply(self, source: ModelSource, snapshot: str, command: Command, now: datetime | None) -> StepResult:
        def step(compiled: CompiledModel) -> StepResult:
            workflow = self._restore(compiled, snapshot)
            if workflow.completed:
                raise CommandRejected("instance_finished", "the instance has already finished")
            log = runner.StepLog(before=Observation.of(workflow))
            command(workflow, log)
            return self._finish(workflow, log, now)
        return self._in_engine(source, step)

    def _in_engine(self, source: ModelSource, step: Callable[[CompiledModel], StepResult]) -> StepResult:
        """Run a step; large models run on a deep stack (SpiffWorkflow predicts the task tree recursively)."""
        compiled = self.specs.get(source)
        elements = len(compiled.element_lines)
        if elements < DEEP_MODEL_ELEMENTS:
            return step(compiled)
        return run_with_deep_stack(lambda: step(compiled), elements=elements)

    def _finish(self, workflow: Any, log: runner.StepLog, now: datetime | None, *, at_rest: bool = False) -> StepResult:
        del now  # steps run on the wall clock; `now` only decides which timers fire_due_timers fires
        if not at_rest:
            runner.run_until_waiting(workflow, max_rounds=self.max_rounds)
        return runner.outcome(workflow, log)
