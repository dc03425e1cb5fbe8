"""Running betsy's execution tests through Patchbay's own engine (`bpmn.validate`, then `bpmn.Engine`).

A case deploys the adapted model, starts `ParallelProcess` first when the case says so, then the
process named like the file, routes thrown messages between the instances as Patchbay's message
router does (name + correlation, waiting subscriptions first, then message start events) and
broadcasts thrown signals as its signal router does (every other waiting instance, and every
deployment with a matching signal start event), fires
timers on a virtual clock up to the case's delay, and compares the logged tokens with the expected
trace as a multiset. Nothing here knows any test by name.
"""

from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bpmn.conformance import adapter
from bpmn.conformance.clock import Trace
from bpmn.engine import Engine
from bpmn.errors import BpmnError
from bpmn.types import ModelSource, StartTrigger, StepResult, ThrownMessage, ThrownSignal
from bpmn.validation import validate

PARALLEL_PROCESS = "ParallelProcess"
MAX_STEPS = 500  # per case: timers, messages and starts together; a runaway cycle stops here
ERROR_MARKERS = ("ERROR_deployment", "ERROR_runtime")


@dataclass
class CaseResult:
    """One test case: what was expected, what the engine logged, and why they differ."""

    number: int
    expected: list[str]
    actual: list[str]
    passed: bool
    reason: str = ""


@dataclass
class TestResult:
    """One betsy test (a model and its cases); it passes when every case passes."""

    name: str
    group: str
    file: str
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every case passed."""
        return all(case.passed for case in self.cases)

    @property
    def reason(self) -> str:
        """The reason of the first failing case ('' when the test passed)."""
        failing = next((c for c in self.cases if not c.passed), None)
        return f"case {failing.number}: {failing.reason}" if failing else ""


@dataclass
class _Instance:
    source: ModelSource
    snapshot: str


@dataclass
class _Run:
    """The state of one case while it runs: the deployments, live instances and the trace."""

    engine: Engine
    deployments: dict[str, ModelSource]
    trace: Trace
    instances: list[_Instance] = field(default_factory=list)
    steps: int = 0
    outbox: list[ThrownMessage] = field(default_factory=list)
    profile: str = "default"  # the validation profile deployments must pass (`bpmn.validate`)
    broadcasts: list[tuple[ThrownSignal, _Instance]] = field(default_factory=list)  # (signal, thrower)


def run_test(engine: Engine, root: Path, test: dict[str, Any], *, profile: str = "default") -> TestResult:
    """Run every case of one betsy test (an entry of `expected.json`), deploying under `profile`."""
    result = TestResult(name=test["name"], group=test["group"], file=test["file"])
    content = (root / test["file"]).read_bytes()
    adapted = adapter.adapt(content, Path(test["file"]).name)
    deployments = _deployments(adapted.content, Path(test["file"]).name, test["name"])
    for case in test["test_cases"]:
        result.cases.append(_run_case(engine, deployments, adapted, test["name"], case, profile=profile))
    return result


def _deployments(content: bytes, filename: str, main: str) -> dict[str, ModelSource]:
    """One deployment per process of the file; the file as is for the process it runs by default."""
    default = ModelSource(filename, content)
    deployments = {}
    for process_id in adapter.process_ids(content, filename):
        variant = adapter.only_executable(content, filename, process_id)
        deployments[process_id] = ModelSource(filename, variant)
    chosen = validate(default).process_key
    if chosen is not None or main not in deployments:
        deployments[chosen or main] = default
    return deployments


def _run_case(engine: Engine, deployments: dict[str, ModelSource], adapted: adapter.AdaptedModel, main: str,
              case: dict[str, Any], *, profile: str) -> CaseResult:
    run = _Run(engine, deployments, Trace(adapted.tokens, adapted.looped), profile=profile)
    expected = list(case["expected_trace"])
    reason = _execute(run, main, case)
    actual = run.trace.entries(expected)
    passed, mismatch = compare(expected, actual)
    return CaseResult(case["number"], expected, actual, passed, "" if passed else f"{mismatch}{reason}")


def _execute(run: _Run, main: str, case: dict[str, Any]) -> str:
    """Deploy, start and drive one case; returns the error message when the engine refused or failed."""
    source = run.deployments.get(main)
    if source is None:
        run.trace.mark("ERROR_deployment")
        return f"; no process {main!r} in the model"
    names = [PARALLEL_PROCESS, main] if case.get("parallel_process") else [main]
    for name in names:
        problem = _deploy_problem(run.deployments.get(name), name, run.profile)
        if problem:
            run.trace.mark("ERROR_deployment")
            return f"; deployment rejected: {problem}"
    variables: dict[str, Any] = {"integerVariable": case.get("integerVariable", 0),
                                 "testCaseNumber": case["number"]}
    if case.get("input_test") is not None:
        variables["test"] = case["input_test"]
    try:
        for name in names:
            _start(run, run.deployments[name], variables if name == main else {})
            _route(run)
        _drive_timers(run, timedelta(milliseconds=case.get("delay_ms", 0)))
    except _Failed as failure:
        return f"; {failure}"
    return ""


def _deploy_problem(source: ModelSource | None, name: str, profile: str) -> str:
    if source is None:
        return f"no process {name!r} in the model"
    report = validate(source, profile=profile)
    if report.ok:
        return ""
    first = report.errors[0] if report.errors else None
    if first is None:
        return "no executable process"
    where = f" ({first.element_id})" if first.element_id else ""
    return f"{first.code}{where}: {first.message}"


class _Failed(Exception):
    """The case stops: the engine raised, or an instance failed."""


def _step(run: _Run, call: Any, instance: _Instance | None, source: ModelSource) -> None:
    """Run one engine command and take in its effects (trace, messages, failure)."""
    run.steps += 1
    if run.steps > MAX_STEPS:
        raise _Failed(f"more than {MAX_STEPS} steps (a timer cycle or message loop without end)")
    try:
        result: StepResult = call()
    except BpmnError as exc:
        run.trace.mark("ERROR_runtime")
        raise _Failed(f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:  # an engine bug is still a failed run, reported with its type
        run.trace.mark("ERROR_runtime")
        raise _Failed(f"unexpected {type(exc).__name__}: {exc}") from None
    run.trace.record(result)
    run.outbox.extend(result.messages_thrown)
    if instance is None:
        instance = _Instance(source, result.snapshot)
        run.instances.append(instance)
    instance.snapshot = result.snapshot
    run.broadcasts.extend((signal, instance) for signal in result.signals_thrown)
    if result.status == "failed":
        uncaught = any(i.kind == "uncaught_error" for i in result.incidents)
        run.trace.mark("ERROR_thrownErrorEvent" if uncaught else "ERROR_runtime")
        message = result.incidents[-1].message if result.incidents else "the instance failed"
        raise _Failed(f"instance failed: {message}")
    if result.status in ("completed", "cancelled"):
        run.instances.remove(instance)


def _start(run: _Run, source: ModelSource, variables: dict[str, Any],
           trigger: StartTrigger | None = None) -> None:
    run.trace.now = run.trace.now or datetime.now(UTC)
    _step(run, lambda: run.engine.start(source, variables=variables, trigger=trigger), None, source)


def _route(run: _Run) -> None:
    """Deliver every thrown message and signal until nothing more is thrown."""
    while run.outbox or run.broadcasts:
        _route_messages(run)
        _route_signals(run)


def _route_signals(run: _Run) -> None:
    """Broadcast each thrown signal, as Patchbay's signal router does: to every other live instance
    waiting for it, then to a new instance of every deployment with a matching signal start event."""
    while run.broadcasts:
        signal, thrower = run.broadcasts.pop(0)
        variables = signal.payload if isinstance(signal.payload, dict) else {}
        for instance in list(run.instances):
            if instance is thrower or instance not in run.instances:
                continue
            state = run.engine.inspect(instance.source, instance.snapshot)
            if any(s.name == signal.name for s in state.signal_subscriptions):
                _step(run, lambda i=instance, s=signal, v=variables: run.engine.deliver_signal(
                    i.source, i.snapshot, name=s.name, variables=v), instance, instance.source)
        for source, activity in _starts(run, "signal", signal.name):
            _start(run, source, variables, StartTrigger("signal", activity_id=activity, signal_name=signal.name))


def _route_messages(run: _Run) -> None:
    """Deliver every thrown message: to a waiting subscription, else to a message start event."""
    while run.outbox:
        message = run.outbox.pop(0)
        target = _subscriber(run, message)
        if target is not None:
            payload = message.payload if isinstance(message.payload, dict) else {}
            _step(run, lambda t=target, m=message, p=payload: run.engine.deliver_message(
                t.source, t.snapshot, name=m.name, correlation=m.correlation, variables=p), target, target.source)
            continue
        start = next(iter(_starts(run, "message", message.name)), None)
        if start is not None:
            source, activity = start
            trigger = StartTrigger("message", activity_id=activity, message_name=message.name)
            _start(run, source, message.payload if isinstance(message.payload, dict) else {}, trigger)


def _subscriber(run: _Run, message: ThrownMessage) -> _Instance | None:
    for instance in run.instances:
        state = run.engine.inspect(instance.source, instance.snapshot)
        for subscription in state.subscriptions:
            expected = subscription.correlation
            if subscription.name == message.name and all(
                    message.correlation.get(k) == v for k, v in expected.items()):
                return instance
    return None


def _starts(run: _Run, kind: str, name: str) -> list[tuple[ModelSource, str]]:
    """(deployment, start event) of every deployment with a `kind` start event for `name`, one each."""
    found = []
    for source in run.deployments.values():
        if not validate(source, profile=run.profile).ok:
            continue
        for event in run.engine.start_events(source):
            if event.kind == kind and name in (event.message_name, event.signal_name):
                found.append((source, event.activity_id))
                break
    return found


def _drive_timers(run: _Run, delay: timedelta) -> None:
    """Fire due timers in order of their due time while they fall within the case's delay.

    The engine arms timers on the wall clock, so a timer's place on the virtual clock is its due
    time less the moment the case started; the run never sleeps.
    """
    started = run.trace.now or datetime.now(UTC)
    while True:
        due = [(run.engine.inspect(i.source, i.snapshot).next_timer_at, index)
               for index, i in enumerate(run.instances)]
        pending = [(d, index) for d, index in due if d is not None]
        if not pending:
            return
        moment, index = min(pending)
        if moment - started > delay:
            return
        instance = run.instances[index]
        run.trace.now = started + max(moment - started, timedelta(0))
        _step(run, lambda i=instance, m=moment: run.engine.fire_due_timers(i.source, i.snapshot, now=m),
              instance, instance.source)
        _route(run)


def compare(expected: list[str], actual: list[str]) -> tuple[bool, str]:
    """betsy's comparison: equal as multisets. `ERROR` in `expected` accepts either error marker."""
    if "ERROR" in expected:
        actual = ["ERROR" if entry in ERROR_MARKERS else entry for entry in actual]
    want, got = Counter(expected), Counter(actual)
    if want == got:
        return True, ""
    missing = sorted((want - got).elements())
    extra = sorted((got - want).elements())
    parts = [f"missing {missing}" if missing else "", f"unexpected {extra}" if extra else ""]
    return False, f"trace {sorted(actual)} != expected {sorted(expected)}: " + ", ".join(p for p in parts if p)


def supports_process_key(engine: Engine) -> bool:
    """Whether `Engine.start` can start a named process (then no per-process deployment is needed)."""
    return "process_key" in inspect.signature(engine.start).parameters
