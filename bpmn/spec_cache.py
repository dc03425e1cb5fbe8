"""Compiled specs, cached per process by the content hash of the model.

Compiling a model (XML parsing, XSD validation, spec building) costs far more than a step, and a
definition version never changes, so each process compiles each model once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from bpmn.parser import compile_model
from bpmn.types import ModelSource


class SpecCache:
    """A thread-safe LRU cache of `bpmn.parser.CompiledModel` keyed by content hash."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: ModelSource) -> Any:
        """The compiled model of `source`, compiling it on a miss (raises `InvalidModel`)."""
        key = source.content_hash
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        compiled = compile_model(source)
        with self._lock:
            self._items[key] = compiled
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._items)
