"""Task spec classes that replace SpiffWorkflow's where Patchbay behaves differently.

`ParkedServiceTask`: SpiffWorkflow calls the connector inside the engine step (holding the instance
lock). Patchbay parks the task instead (state STARTED) with the evaluated parameters recorded, and a
worker runs the operation outside any lock; a later step resumes the task with the result.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask

SERVICE_CALL_KEY = "patchbay_service_call"


class ParkedServiceTask(SpiffServiceTask):
    """A service task that records its call and waits for the result instead of calling out."""

    def _execute(self, task: Any) -> None:
        params = {
            name: task.workflow.script_engine.evaluate_for(task, param["value"], what=f"parameter '{name}'")
            for name, param in self.operation_params.items()
        }
        task._set_internal_data(**{
            SERVICE_CALL_KEY: {"operation": self.operation_name, "parameters": params},
        })
        # None tells SpiffWorkflow's Task.run() to leave the task STARTED: it waits for the result.
        return None  # noqa: PLR1711 - the explicit None is the protocol, not an accident
