"""Writes for process definitions: deploying an uploaded model as a new immutable version."""

from __future__ import annotations

import logging
import random
import time
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

import bpmn
from apps.core.errors import ApiError, Conflict
from apps.core.operations import operation_names
from apps.definitions.hooks import run_deployed_hooks_on_commit
from apps.definitions.models import ProcessDefinition
from bpmn.types import ModelSource, ValidationReport

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# Two deploys of different content for one key may both read the same max version; the loser of the
# (key, version) race retries with the next number. A handful of attempts covers any real contention.
_MAX_ATTEMPTS = 5
_FILENAME_MAX = 255
_KEY_MAX = 255


def definition_deploy(
    *, filename: str, content: bytes, deployed_by: User | None, profile: str = "default"
) -> tuple[ProcessDefinition, bool]:
    """Validate an uploaded model and store it as the next version of its process key.

    Returns `(definition, created)`. The same bytes deployed again return the stored version with
    `created=False`, so deploying is idempotent. An invalid model raises `ApiError` (400,
    `invalid_model`) whose details list every error problem, and nothing is stored; an upload above
    `PATCHBAY_MAX_UPLOAD_BYTES` raises `ApiError` (`file_too_large`). Warnings are stored on the row.
    `profile="strict"` also enforces the BPMN rules Patchbay relaxes by default (`bpmn.validate`).
    """
    _check_size(content)
    source = ModelSource(filename=_clean_filename(filename), content=content)
    existing = ProcessDefinition.objects.filter(content_hash=source.content_hash).first()
    # Stored versions passed the default profile; a strict upload of the same bytes is checked again.
    if existing is not None and profile == "default":
        return existing, False
    report = bpmn.validate(source, operations=operation_names(), profile=profile)
    if not report.ok or report.process_key is None:
        raise ApiError(
            _invalid_message(report),
            code="invalid_model",
            details=[problem.as_dict() for problem in report.errors],
        )
    if existing is not None:
        return existing, False
    if len(report.process_key) > _KEY_MAX:
        # The column holds 255 characters; a longer id would be a database error, not a 400.
        raise ApiError("The process id is too long.", code="invalid_model", details=[{
            "code": "process_id_too_long", "message": f"the process id exceeds {_KEY_MAX} characters",
            "element_id": report.process_key[:_KEY_MAX],
        }])
    return _store_next_version(source=source, report=report, key=report.process_key, deployed_by=deployed_by)


def _check_size(content: bytes) -> None:
    limit = settings.PATCHBAY_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise ApiError(f"The file is larger than the limit of {limit} bytes.", code="file_too_large")
    if not content:
        raise ApiError("The file is empty.", code="empty_file")


def _clean_filename(filename: str) -> str:
    """The base name only: a client-sent path must never reach storage or a download header."""
    base = PureWindowsPath(PurePosixPath(filename).name).name.strip()
    return (base or "model.bpmn")[-_FILENAME_MAX:]


def _invalid_message(report: ValidationReport) -> str:
    count = len(report.errors)
    if count == 0:
        return "The model has no executable process."
    return f"The model has {count} problem{'s' if count != 1 else ''}; nothing was deployed."


def _store_next_version(
    *, source: ModelSource, report: ValidationReport, key: str, deployed_by: User | None
) -> tuple[ProcessDefinition, bool]:
    """Insert the row with version = max + 1, retrying when a concurrent deploy took that number."""
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        try:
            # A savepoint of its own: a lost race rolls back only this insert, even inside a request
            # transaction, and the next attempt sees the winner's committed version.
            with transaction.atomic():
                definition = ProcessDefinition.objects.create(
                    key=key,
                    version=_latest_version(key=key) + 1,
                    name=(report.process_name or "")[:255],
                    filename=source.filename,
                    source=source.content,
                    content_hash=source.content_hash,
                    warnings=[problem.as_dict() for problem in report.warnings],
                    deployed_by=deployed_by,
                )
        except IntegrityError:
            # Either someone deployed these very bytes meanwhile (content_hash is unique): that is
            # the idempotent answer; or they took our version number: try the next one.
            winner = ProcessDefinition.objects.filter(content_hash=source.content_hash).first()
            if winner is not None:
                return winner, False
            logger.info("definition version race for %s (attempt %d)", key, attempt)
            time.sleep(random.uniform(0.005, 0.05) * attempt)  # noqa: S311 - jitter, not security
            continue
        logger.info("deployed definition %s v%d", key, definition.version)
        # Other apps index the new version (message starts, start timers) once it is committed.
        run_deployed_hooks_on_commit(definition.pk)
        return definition, True
    raise Conflict(f"Could not assign a version to {key!r}: too many concurrent deploys; try again.",
                   code="deploy_busy")


def _latest_version(*, key: str) -> int:
    """The highest stored version of `key` (0 when none): a read that a concurrent deploy may outdate."""
    latest: int | None = ProcessDefinition.objects.filter(key=key).aggregate(top=Max("version"))["top"]
    return latest or 0
