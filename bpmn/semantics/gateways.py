"""Complex gateways, and the token-counting join behind `startQuantity`.

SpiffWorkflow 3.2.0 has no `complexGateway` at all (its parser does not know the tag). BPMN's complex
gateway joins like this:
- every arriving token counts; the gateway activates as soon as its `activationCondition` holds for
  `activationCount` (the number of tokens arrived in the current round; without a condition it
  activates once every token that can still arrive has arrived, like an inclusive join);
- after activating, the tokens of the same round that arrive later are consumed without a second
  activation; the round resets once nothing upstream can reach the gateway any more;
- outgoing flows behave like an inclusive split: every flow whose condition holds (an unconditioned
  flow always) gets a token, the default flow only when no other does.

A *counting* gateway (added by `rewrite.join_start_quantities` in front of an activity with
`startQuantity` n > 1) activates at n tokens and starts a new round at once: every n tokens start
the activity once, fewer wait.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.util.task import TaskState

PB_NS = "urn:patchbay:semantics"
COUNTING_ATTRIBUTE = f"{{{PB_NS}}}tokenCount"
_COUNT_KEY = "patchbay_activation_count"
_ROUND_KEY = "patchbay_round_open"


class ComplexGatewayParser(SpiffTaskParser):
    """Reads `activationCondition`, the counting marker and inclusive-style outgoing flows."""

    def create_task(self) -> Any:
        task = self.spec_class(self.spec, self.bpmn_id, **self.bpmn_attributes)
        condition = self.xpath("./bpmn:activationCondition")
        task.activation_condition = condition[0].text.strip() if condition and condition[0].text else None
        count = self.node.get(COUNTING_ATTRIBUTE)
        task.token_count = int(count) if count else None
        return task

    def handles_multiple_outgoing(self) -> bool:
        return True

    def connect_outgoing(self, outgoing_task: Any, sequence_flow_node: Any, is_default: bool) -> None:
        if is_default:
            self.task.connect(outgoing_task)
        else:
            self.task.connect_outgoing_if(self.parse_condition(sequence_flow_node) or "True", outgoing_task)


class ComplexGateway(InclusiveGateway):
    """A complex gateway (see the module docstring); outgoing flows as SpiffWorkflow's inclusive split."""

    activation_condition: str | None = None
    token_count: int | None = None

    def _update_hook(self, my_task: Any) -> Any:
        if self._round_open(my_task):
            # A late token of a round that already activated: consumed, never fires again.
            my_task._set_state(TaskState.CANCELLED)
            my_task._drop_children()
            self._close_round_if_done(my_task)
            return False
        count = my_task.internal_data.get(_COUNT_KEY, 1)  # WAITING tasks are updated every round
        for other in self._waiting(my_task):
            count = max(count, other.internal_data.get(_COUNT_KEY, 1) + 1)
            other.cancel()
        my_task.internal_data[_COUNT_KEY] = count
        if not self._activates(my_task, count):
            my_task._set_state(TaskState.WAITING)
            return False
        my_task._inherit_data()
        if self.token_count is None and not self._nothing_more_arrives(my_task):
            my_task.internal_data[_ROUND_KEY] = True
        return True

    def _waiting(self, my_task: Any) -> list[Any]:
        return [t for t in my_task.workflow.tasks.values()
                if t.task_spec is self and t is not my_task and t.state == TaskState.WAITING]

    def _round_open(self, my_task: Any) -> bool:
        return any(t.internal_data.get(_ROUND_KEY) for t in my_task.workflow.tasks.values()
                   if t.task_spec is self and t is not my_task)

    def _close_round_if_done(self, my_task: Any) -> None:
        if not self._nothing_more_arrives(my_task):
            return
        for task in my_task.workflow.tasks.values():
            if task.task_spec is self:
                task.internal_data.pop(_ROUND_KEY, None)

    def _nothing_more_arrives(self, my_task: Any) -> bool:
        """Whether no unfinished task upstream can still send a token here (the inclusive join's test)."""
        return bool(InclusiveGateway._check_threshold_unstructured(self, my_task))

    def _activates(self, my_task: Any, count: int) -> bool:
        if self.token_count is not None:
            return count >= self.token_count
        if self.activation_condition is None:
            return self._nothing_more_arrives(my_task)
        engine = my_task.workflow.script_engine
        return bool(engine.evaluate(my_task, self.activation_condition,
                                    external_context={"activationCount": count}))
