"""The contract every connector follows, modelled on healthchecks' transports.

One package per external system under `apps/integrations/<system>/`, each holding one `Connector`
subclass. A connector declares its operations (`OperationSpec`: a JSON Schema for the parameters, a
timeout and a retry policy) and implements ONE method, `call`. It reports failure by raising
`ConnectorError`, which carries the decision the outbox needs: `retryable` (try again later) and
`bpmn_error_code` (a business outcome the process model handles with an error boundary event).
Connectors never touch the database: a worker calls them outside any transaction or lock.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ConnectorError(Exception):
    """The call did not produce a result.

    `retryable`: a technical failure that may pass (connection refused, timeout, 5xx) - the outbox
    tries again with back-off. `bpmn_error_code`: a business answer ("card_declined") thrown into the
    process as a BPMN error; never retried. Neither: a permanent technical failure (incident).
    """

    def __init__(self, message: str, *, retryable: bool, bpmn_error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable and bpmn_error_code is None
        self.bpmn_error_code = bpmn_error_code


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how fast a technical failure is retried: exponential back-off with jitter.

    The n-th retry waits `min(max_delay, base_delay * multiplier**(n-1))` seconds, scaled by a random
    factor in `[1 - jitter, 1 + jitter]` so calls failing together do not retry together.
    `max_attempts` counts the first attempt too.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.2

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempt`-th failed attempt (1-based)."""
        raw = min(self.max_delay, self.base_delay * self.multiplier ** max(0, attempt - 1))
        factor = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return max(0.0, raw * factor)

    def exhausted(self, attempts: int) -> bool:
        """True when `attempts` attempts used up the policy."""
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class OperationSpec:
    """One operation of a connector: parameter schema (JSON Schema), timeout (s) and retry policy."""

    schema: dict[str, Any]
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    description: str = ""


@dataclass(frozen=True)
class SystemLimits:
    """Protection of one external system; None takes the deployment default from settings.

    `max_concurrency`: calls running at once. `failure_threshold` consecutive retryable failures
    within `failure_window` seconds open the circuit breaker for `cooldown` seconds.
    """

    max_concurrency: int | None = None
    failure_threshold: int | None = None
    failure_window: float | None = None
    cooldown: float | None = None


@dataclass(frozen=True)
class CallContext:
    """What a connector knows about the call besides its parameters.

    `idempotency_key` is stable across retries and redeliveries of the same call: pass it on to the
    remote system (e.g. an `Idempotency-Key` header) so it can drop duplicates. `timeout` is the
    operation's timeout in seconds; the connector must give up by then.
    """

    operation: str
    idempotency_key: str
    timeout: float
    attempt: int
    instance_id: str
    activity_id: str


class Connector(ABC):
    """Base of every connector: a system name, its operations, its limits and one method."""

    system: ClassVar[str]
    operations: ClassVar[dict[str, OperationSpec]]
    limits: ClassVar[SystemLimits] = SystemLimits()

    @property
    def queue(self) -> str:
        """The Celery queue its calls run on: one queue per external system, named after it."""
        return self.system

    @abstractmethod
    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Run `operation` (its short name, e.g. `echo`) and return a JSON-serialisable result.

        Parameters are already validated against the operation's schema. Raise `ConnectorError`
        for every failure the connector understands.
        """
