"""Per-process runtime caches: the one `bpmn.Engine` and the definitions' model sources.

Definitions are immutable, so their uploaded bytes are read from the database once per process and
kept here; the engine in turn caches compiled specs by content hash, so a step neither re-reads the
`source` column nor parses XML. The cache key includes the content hash as well as the id, so a row id
reused after a rollback (tests) can never serve another model's bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import bpmn
from apps.core.operations import operation_names
from apps.definitions.models import ProcessDefinition

# Enough for every version a deployment realistically runs at once; least recently used go first.
SOURCE_CACHE_SIZE = 512

_lock = threading.Lock()
_engine: bpmn.Engine | None = None
_sources: OrderedDict[tuple[int, str], bpmn.ModelSource] = OrderedDict()


def get_engine() -> bpmn.Engine:
    """The process-wide engine, built on first use (after the apps registered their operations)."""
    global _engine  # noqa: PLW0603 - one engine per process is the point: it holds the spec cache
    with _lock:
        if _engine is None:
            _engine = bpmn.Engine(operations=operation_names())
        return _engine


def model_source_for(definition: ProcessDefinition) -> bpmn.ModelSource:
    """The model of `definition` as the engine takes it, read from the database at most once.

    `definition` may come with `source` deferred (the pipeline never loads it with the instance).
    """
    key = (definition.pk, definition.content_hash)
    with _lock:
        cached = _sources.get(key)
        if cached is not None:
            _sources.move_to_end(key)
            return cached
    source = ProcessDefinition.objects.only("filename", "source").get(pk=definition.pk).model_source()
    with _lock:
        _sources[key] = source
        while len(_sources) > SOURCE_CACHE_SIZE:
            _sources.popitem(last=False)
    return source


def clear_caches() -> None:
    """Forget the engine and every cached source (tests that swap the engine use this)."""
    global _engine  # noqa: PLW0603
    with _lock:
        _engine = None
        _sources.clear()
