"""Cycle timers that catch up once, on the step's clock.

SpiffWorkflow 3.2.0 fires a cycle timer whenever its next time lies before the wall clock and then
moves it on by one period, so after downtime every missed round fired, one per engine round, in a
single step; and `Engine.fire_due_timers(now=...)` could only re-arm on the wall clock. Patchbay's
cycle timer (`CatchUpCycleTimer`, swapped in for SpiffWorkflow's at compile time):
- fires when its next time is at or before the step's clock: `now` of `fire_due_timers` (set as the
  workflow's transient `timer_now`), otherwise the wall clock;
- fires once however many rounds were missed (Camunda's behaviour), then re-arms at the first
  occurrence of its schedule after that clock. Missed rounds do not use up repetitions.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition


class CatchUpCycleTimer(CycleTimerEventDefinition):
    """A cycle timer that fires once per step at most and re-arms after the step's clock."""

    def cycle_complete(self, my_task: Any) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(expression)
            value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        if value["cycles"] == 0:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        due, clock = datetime.fromisoformat(value["next"]), step_clock(my_task)
        ready = due <= clock
        if ready:
            value["next"] = next_occurrence(due, timedelta(seconds=value["duration"]), clock).isoformat()
            value["cycles"] -= 1
        my_task._set_internal_data(event_value=value)
        return ready


def step_clock(my_task: Any) -> datetime:
    """The time this step runs at: `fire_due_timers`'s `now`, else the wall clock."""
    now = getattr(my_task.workflow.top_workflow, "timer_now", None)
    return now if isinstance(now, datetime) else datetime.now(UTC)


def next_occurrence(due: datetime, period: timedelta, clock: datetime) -> datetime:
    """The first time `due + k * period` (k >= 1) after `clock`."""
    if period <= timedelta(0):
        return due + period
    missed = max(1, math.floor((clock - due) / period) + 1)
    return due + missed * period


def use_catch_up_cycles(specs: Any) -> None:
    """Replace SpiffWorkflow's cycle timer definitions in compiled specs by `CatchUpCycleTimer`."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, MultipleEventDefinition):
                definition.event_definitions = [_swap(d) for d in definition.event_definitions]
            elif definition is not None:
                task_spec.event_definition = _swap(definition)


def _swap(definition: Any) -> Any:
    if type(definition) is not CycleTimerEventDefinition:
        return definition
    return CatchUpCycleTimer(definition.name, definition.expression, description=definition.description)
