"""REST interfaces of `apps.core`: token exchange and the current user. Thin: services do the work."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ApiError
from apps.core.roles import user_groups
from apps.core.serializers import (
    MeSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    error_response,
)
from apps.core.services import token_get_or_create

_ERROR = error_response("Error shape of API.md")


class InvalidCredentials(ApiError):
    """Username and password do not match an active user."""

    code = "invalid_credentials"


class TokenView(APIView):
    """Exchange a username and password for the caller's API token."""

    authentication_classes: list[Any] = []  # a stale token header must not block getting a new one
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 400: _ERROR},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise InvalidCredentials(
                "Unable to sign in with the given username and password.",
                details=[{"field": "password", "code": "invalid_credentials",
                          "message": "Username and password do not match."}],
            )
        return Response({"token": token_get_or_create(user=user)})


class MeView(APIView):
    """The authenticated caller: username and groups."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_me_retrieve", tags=["auth"],
                   responses={200: MeSerializer, 401: _ERROR})
    def get(self, request: Request) -> Response:
        user = request.user
        body = {
            "username": user.get_username(),
            "groups": sorted(user_groups(user)),
            "is_superuser": bool(user.is_superuser),
        }
        return Response(MeSerializer(body).data)
