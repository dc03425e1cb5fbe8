"""Tiny BPMN models that wait for the sandbox's asynchronous answers, built like the runtime tests' models."""

from __future__ import annotations

from tests.apps.instances.messaging_samples import catch, correlated_message
from tests.apps.instances.samples import END, START, chain, model


def waits_for(message: str, prop: str) -> bytes:
    """start -> wait for `message` correlated by the instance's own `prop` -> end."""
    key = f"wait_{message}"
    body = f"{START}\n{catch('answer', message)}\n{END}\n{chain('start', 'answer', 'end')}"
    return model(key, body, extra=correlated_message(message, key, prop))
