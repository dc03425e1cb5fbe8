"""Request and response shapes of the definitions API (API.md, "Definitions")."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework import serializers

from apps.definitions.models import ProcessDefinition


class DefinitionUploadSerializer(serializers.Serializer[None]):
    """`POST /definitions/`: one multipart file, a `.bpmn` or a `.zip` of `.bpmn`/`.dmn`/form files."""

    file = serializers.FileField(
        allow_empty_file=False, help_text="A .bpmn file, or a .zip of .bpmn, .dmn and form (.json) files."
    )


class DefinitionUploadQuerySerializer(serializers.Serializer[None]):
    """`POST /definitions/?profile=`: which validation profile the upload must pass."""

    profile = serializers.ChoiceField(
        # The profiles of `bpmn.validate`; a test keeps the two lists equal.
        choices=["default", "strict"], default="default", required=False,
        help_text="`default`, or `strict` to also enforce the BPMN rules Patchbay relaxes by design "
                  "(typed formal expressions, operationRef on message events, scriptFormat; see "
                  "docs/writing-models.md).",
    )


class DefinitionProblemSerializer(serializers.Serializer[None]):
    """One validation problem: a stored warning, or an entry of an `invalid_model` error's details."""

    code = serializers.CharField()
    message = serializers.CharField()
    element_id = serializers.CharField(required=False)
    line = serializers.IntegerField(required=False)
    file = serializers.CharField(required=False)


class DefinitionSerializer(serializers.ModelSerializer[ProcessDefinition]):
    """A deployed definition version, as listed and as returned by an upload."""

    deployed_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    warnings = DefinitionProblemSerializer(many=True, read_only=True)

    class Meta:
        model = ProcessDefinition
        fields = (
            "id", "key", "version", "name", "content_hash", "deployed_at", "deployed_by", "warnings",
            "filename",
        )
        read_only_fields = fields
