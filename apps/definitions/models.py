"""Process definitions: immutable, versioned BPMN models."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bpmn.types import ModelSource


class ProcessDefinition(models.Model):
    """One immutable version of a deployed model, identified by its executable process id (`key`).

    The upload is kept byte for byte (`source`, a `.bpmn` or a `.zip`): the engine compiles it on
    demand and caches the compiled spec by `content_hash`, so the same content is never two versions.
    """

    key = models.CharField(max_length=255, db_index=True)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=255, blank=True)
    filename = models.CharField(max_length=255)
    source = models.BinaryField()
    content_hash = models.CharField(max_length=64, unique=True)
    warnings = models.JSONField(default=list, blank=True)
    deployed_at = models.DateTimeField(auto_now_add=True)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("key", "-version")
        constraints = (
            models.UniqueConstraint(fields=("key", "version"), name="definition_key_version_unique"),
        )
        # The list endpoint pages newest first; without this index every page sorts the whole table.
        indexes = (models.Index(fields=("-deployed_at", "-version"), name="definition_latest_idx"),)

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    def model_source(self) -> ModelSource:
        """The upload as the engine layer takes it."""
        return ModelSource(filename=self.filename, content=bytes(self.source))
