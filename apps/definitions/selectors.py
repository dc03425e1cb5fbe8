"""Reads of process definitions. Every interface goes through these, never through the ORM directly."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.core.rows import select_latest
from apps.definitions.models import ProcessDefinition
from apps.definitions.packaging import main_bpmn
from bpmn.errors import InvalidModel


def definition_list(*, key: str | None = None) -> QuerySet[ProcessDefinition]:
    """Definitions newest first, optionally of one process key.

    The uploaded bytes (`source`) are deferred: a list never needs them and they can be megabytes.
    """
    queryset = ProcessDefinition.objects.defer("source").select_related("deployed_by")
    if key:
        queryset = queryset.filter(key=key)
    return queryset.order_by("-deployed_at", "-version", "-id")


def definition_get(*, definition_id: int) -> ProcessDefinition:
    """One definition by id; raises `NotFound` when there is none."""
    definition = ProcessDefinition.objects.select_related("deployed_by").filter(pk=definition_id).first()
    if definition is None:
        raise NotFound(f"Definition {definition_id} does not exist.")
    return definition


def definition_get_latest(*, key: str) -> ProcessDefinition:
    """The highest version of a process key; raises `NotFound` when the key was never deployed.

    Without the uploaded bytes and warnings (read on access): starting an instance needs neither, and
    the model source comes from the per-process cache (`apps.instances.runtime`).
    """
    # Hand-built (`apps.core.rows`): every start runs this, and the ORM spent more CPU compiling it
    # than PostgreSQL took to answer.
    definition = select_latest(ProcessDefinition, "key", key, by="version", defer=("source", "warnings"))
    if definition is None:
        raise NotFound(f"No definition with key {key!r} is deployed.")
    return definition


def definition_get_version(*, key: str, version: int) -> ProcessDefinition:
    """One version of a process key (without its bytes and warnings, read on access); raises
    `NotFound` when that version does not exist."""
    definition = ProcessDefinition.objects.defer("source", "warnings").filter(key=key, version=version).first()
    if definition is None:
        raise NotFound(f"Definition {key!r} has no version {version}.")
    return definition


def definition_xml(*, definition: ProcessDefinition) -> bytes:
    """The BPMN as uploaded: the file itself, or for a zip the member holding the executable process."""
    try:
        content = main_bpmn(definition.model_source(), key=definition.key)
    except InvalidModel:
        # Only if the loader's limits tightened after this version was deployed.
        content = None
    if content is None:
        raise NotFound(f"Definition {definition.id} holds no BPMN file defining {definition.key!r}.")
    return content
