"""Serializers of the core API: token exchange, the current user, and the error shape for OpenAPI."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


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
