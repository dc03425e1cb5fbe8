"""Serializers of the core API (token exchange, the current user, the error shape for OpenAPI), and
`FieldsBuiltOnce`, the response serializers' cheaper `to_representation`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject


class ErrorDetailSerializer(serializers.Serializer[dict[str, object]]):
    """One problem in `error.details`: a code and a sentence, with a field or model location if known."""

    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)
    element_id = serializers.CharField(required=False)
    line = serializers.IntegerField(required=False)


class ErrorBodySerializer(serializers.Serializer[dict[str, object]]):
    """The inner object of the error shape."""

    code = serializers.CharField(help_text="snake_case error code, stable for clients")
    message = serializers.CharField(help_text="A human sentence.")
    details = ErrorDetailSerializer(many=True)


class ErrorSerializer(serializers.Serializer[dict[str, object]]):
    """Every 4xx/5xx body of the API: `{"error": {"code", "message", "details"}}` (API.md)."""

    error = ErrorBodySerializer()


class TokenRequestSerializer(serializers.Serializer[dict[str, str]]):
    """Credentials exchanged for an API token."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer[dict[str, str]]):
    """The token to send as `Authorization: Token <token>`."""

    token = serializers.CharField()


class MeSerializer(serializers.Serializer[dict[str, object]]):
    """Who the caller is and which groups (roles) they hold."""

    username = serializers.CharField()
    groups = serializers.ListField(child=serializers.CharField())
    is_superuser = serializers.BooleanField()


def error_response(description: str) -> OpenApiResponse:
    """An OpenAPI response in the error shape of API.md, for `extend_schema(responses=...)`."""
    return OpenApiResponse(ErrorSerializer, description=description)


_SHARED_FIELDS: dict[type[Any], list[Field[Any, Any, Any, Any]]] = {}


def _readable_fields_of(serializer_class: type[serializers.Serializer[Any]]) -> list[Field[Any, Any, Any, Any]]:
    """The class's readable fields, built and bound once per process (on a bare instance: no
    request or object of a caller is kept). Rebuilding them costs ~1 ms a response: a deep copy of
    the declared fields, and for a `ModelSerializer` the model's introspection and field mapping."""
    fields = _SHARED_FIELDS.get(serializer_class)
    if fields is None:
        fields = _SHARED_FIELDS[serializer_class] = list(serializer_class()._readable_fields)
    return fields


class FieldsBuiltOnce:
    """Serializer mixin for responses: `to_representation` as DRF's `Serializer` runs it, through
    fields built once per class instead of once per serializer (`_readable_fields_of`).

    Only for serializers whose output depends on nothing but the object: no `context` (request,
    hyperlinks), no fields chosen per instance. The schema and the input side are unchanged (they
    still use the serializer's own fields).
    """

    def to_representation(self, instance: Any) -> dict[str, Any]:
        ret: dict[str, Any] = {}
        for field in _readable_fields_of(type(self)):  # type: ignore[arg-type]  # a serializer's mixin
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            # As DRF: `None` (also a related object's primary key) is `None` without the field.
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[str(field.field_name)] = None if check_for_none is None else field.to_representation(attribute)
        return ret
