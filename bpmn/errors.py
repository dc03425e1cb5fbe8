"""Exceptions raised by the engine layer. Each carries what a caller needs to answer or record it."""

from __future__ import annotations

from bpmn.types import Problem


class BpmnError(Exception):
    """Base class of every error the engine layer raises on purpose."""


class InvalidModel(BpmnError):
    """A model failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0].message if self.problems else "invalid model"
        super().__init__(f"{len(self.problems)} problem(s) in the model; first: {first}")


class ExpressionError(BpmnError):
    """An expression or script was rejected or failed while it ran.

    `element_id` names the BPMN element whose expression it was, when the caller knows it.
    """

    def __init__(self, message: str, *, element_id: str | None = None, line: int | None = None) -> None:
        self.element_id = element_id
        self.line = line
        self.detail = message
        where = f" in {element_id}" if element_id else ""
        super().__init__(f"{message}{where}")


class CommandRejected(BpmnError):
    """The command does not apply to the instance as it is (e.g. the task is not waiting).

    `code` is a snake_case reason the API passes on (a 409 in most cases).
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class StepFailed(BpmnError):
    """Running the engine failed; the caller rolls the step back and opens an incident."""

    def __init__(self, kind: str, message: str, *, activity_id: str | None = None) -> None:
        self.kind = kind
        self.activity_id = activity_id
        super().__init__(message)
