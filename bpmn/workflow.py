"""SpiffWorkflow workflow classes with Patchbay's fixes.

A completed non-interrupting event sub-process hands what it changed on to its scope
(`bpmn.semantics.event_subprocesses.share_writes`). The process's own event sub-processes start
only while no interrupting one of them has fired (`ScopedEventManager`).

SpiffWorkflow's task iterator stops descending at depth 1,000. A loop through a gateway adds about
three levels to the task tree per round, so after ~333 rounds the READY task falls below that depth,
`do_engine_steps` no longer sees it and the instance stalls silently. Our workflows iterate without a
depth bound (the tree is finite; a runaway loop is caught by the step's own round limit instead).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.util.task import TaskState

from bpmn.semantics import conditions, event_subprocesses, events, propagation

UNBOUNDED_DEPTH = sys.maxsize


def _ready_tasks(workflow: Any) -> list[Any]:
    # The engine loop asks for READY tasks after every round. Walking the task tree for that costs
    # O(tree) per round, O(n^2) for a long chain; the flat task map gives the same tasks, in
    # creation order, far faster.
    return [task for task in workflow.tasks.values() if task.state == TaskState.READY]


class ScopedEventManager(EventManager):
    """SpiffWorkflow's event manager, starting no event sub-process of a process being interrupted.

    `update_collaboration` starts the process's event sub-processes whose start event matches an
    event (a signal, a message thrown inside the instance) without asking whether an interrupting
    one already fired; those of sub-processes start through `bpmn.semantics.event_subprocesses`,
    which asks.
    """

    def update_collaboration(self, event: Any) -> None:
        top = self.workflow
        if top.spec.start.trigger_specs and not event_subprocesses.accepts_events(top, top):
            return  # an interrupting event sub-process of the process fired
        super().update_collaboration(event)


class PatchbaySubWorkflow(BpmnSubWorkflow):
    """A sub-process or call activity instance whose task search has no depth bound."""

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("max_depth", UNBOUNDED_DEPTH)
        return super().get_tasks_iterator(first_task, **kwargs)

    def get_tasks(self, first_task: Any = None, **kwargs: Any) -> list[Any]:
        if first_task is None and kwargs == {"state": TaskState.READY}:
            return _ready_tasks(self)
        return list(self.get_tasks_iterator(first_task, **kwargs))

    def _task_completed_notify(self, task: Any) -> None:
        super()._task_completed_notify(task)
        if self.completed and task.task_spec.name == "End":
            # After SpiffWorkflow copied this sub-process's data onto its task (`completed_event`):
            # a non-interrupting event sub-process hands on only what it changed, to its scope.
            event_subprocesses.share_writes(self)


class PatchbayWorkflow(BpmnWorkflow):
    """The top-level workflow of an instance.

    `pending_errors` holds script tasks that called `raise_bpmn_error` in the current engine round
    (transient: every step drains it before the snapshot is taken); `thrown_signals` the signal
    events thrown during the step (transient, harvested into `StepResult.signals_thrown`). `timer_now` is the clock of a
    `fire_due_timers` step (transient; None means the wall clock), see `bpmn.semantics.timers`.
    `throwing` is the task whose throw is being delivered (transient, see `bpmn.semantics.propagation`).
    """

    event_manager: EventManager

    def __init__(self, spec: Any, subprocess_specs: Any = None, **kwargs: Any) -> None:
        self.pending_errors: list[Any] = []
        self.thrown_signals: list[Any] = []
        self.timer_now: datetime | None = None
        self.throwing: Any = None
        super().__init__(spec, subprocess_specs, **kwargs)
        scoped = ScopedEventManager(self)
        scoped.tasks = self.event_manager.tasks  # what SpiffWorkflow's own manager holds by now
        self.event_manager = scoped

    def catch(self, event: Any) -> None:
        """Deliver an event; one nothing caught may still start an event sub-process of a sub-process.

        An error or escalation goes to the innermost handler around its thrower
        (`bpmn.semantics.propagation`); a signal to every scope waiting for it (`broadcast`). Every
        signal thrown inside the instance is also kept in `thrown_signals`: signals are broadcast,
        so other instances get it whether or not something here caught it.
        """
        if self.throwing is not None and propagation.propagates(event):
            if not propagation.deliver(self, event, self.throwing):
                self.bpmn_events.append(event)
            return
        if isinstance(event.event_definition, SignalEventDefinition):
            self.thrown_signals.append(event)
            if not self.broadcast(event):
                self.bpmn_events.append(event)
            return
        origin = event.target
        before = len(self.bpmn_events)
        super().catch(event)
        uncaught = len(self.bpmn_events) > before and self.bpmn_events[-1] is event
        if uncaught and event_subprocesses.trigger_nested(self, event, origin):
            self.bpmn_events.pop()

    def broadcast(self, event: Any) -> int:
        """Deliver a signal to everything in the instance waiting for it; how many catchers took it.

        A signal is broadcast (BPMN 2.0.2 10.5.1; Camunda, Flowable): it reaches every scope, whatever
        else caught it. SpiffWorkflow's delivery serves the process's event sub-processes and the
        catch and boundary events; the event sub-processes of running sub-processes, which it never
        starts, are started here (`bpmn.semantics.event_subprocesses.start_in_scopes`).
        """
        scopes = event_subprocesses.signal_scopes(self)  # before delivery: what it starts was not waiting
        # Not `internal`: whether the signal went uncaught is known only once the sub-processes had it.
        caught = int(self.event_manager.catch(event, internal=False))
        return caught + event_subprocesses.start_in_scopes(self, scopes, event)

    def _do_engine_steps(self, will_complete_task: Any = None, did_complete_task: Any = None) -> bool:
        conditions.refresh_conditions(self)  # a scope entered last round meets its conditions first
        ran = bool(super()._do_engine_steps(will_complete_task, did_complete_task))
        return events.throw_pending_errors(self) or ran

    def refresh_timers(self) -> None:
        """Update due timers and, at rest, conditional events (`bpmn.semantics.conditions`)."""
        super().refresh_timers()
        conditions.refresh_conditions(self)

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("max_depth", UNBOUNDED_DEPTH)
        return super().get_tasks_iterator(first_task, **kwargs)

    def get_tasks(self, first_task: Any = None, **kwargs: Any) -> list[Any]:
        if first_task is None and kwargs == {"state": TaskState.READY}:
            return _ready_tasks(self)
        return list(self.get_tasks_iterator(first_task, **kwargs))

    def create_subprocess(self, my_task: Any, spec_name: str) -> Any:
        subprocess = PatchbaySubWorkflow(
            self.subprocess_specs[spec_name], parent_task_id=my_task.id, top_workflow=self
        )
        self.subprocesses[my_task.id] = subprocess
        return subprocess
