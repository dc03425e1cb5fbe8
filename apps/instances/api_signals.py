"""`POST /api/v1/signals/`: broadcast a signal from outside. Thin: parse, call, answer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import ROLES, RolePermission
from apps.core.serializers import error_response
from apps.instances.signals import signal_broadcast


class SignalSerializer(serializers.Serializer[dict[str, Any]]):
    """A signal: its name and the variables it carries."""

    name = serializers.CharField(max_length=255, help_text="The signal name of the model (`bpmn:signal/@name`).")
    variables = serializers.DictField(
        required=False, default=dict, help_text="Become process variables of every receiving (or started) instance."
    )


class SignalResultSerializer(serializers.Serializer[dict[str, Any]]):
    """Where the signal went."""

    instance_ids = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="Instances that caught it and instances it started; empty when nobody waited (not an error).",
    )



class SignalBroadcastView(GenericAPIView[Any]):
    """`POST /signals/`: any signed-in user with a role."""

    permission_classes = [RolePermission]
    required_roles = {"*": ROLES}
    serializer_class = SignalSerializer

    @extend_schema(
        operation_id="signals_broadcast",
        request=SignalSerializer,
        responses={
            200: SignalResultSerializer,
            400: error_response("`invalid_input` naming the fields."),
            401: error_response("Not authenticated."),
            403: error_response("The caller has no role."),
            409: error_response("`instance_busy` (retry); nothing changed."),
        },
        description=(
            "A signal is a broadcast: every waiting or running instance with a catch event, boundary event or "
            "event sub-process waiting for it catches it, and the latest version of every process with a "
            "signal start event of that name starts. No correlation. Nobody waiting is not an error: the "
            "answer is 200 with an empty `instance_ids`."
        ),
        examples=[OpenApiExample("Tariffs changed", request_only=True,
                                 value={"name": "tariffs_changed", "variables": {"effective": "2026-12-01"}})],
    )
    def post(self, request: Request) -> Response:
        """Broadcast the signal and list the instances it reached or started."""
        body = SignalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        if not isinstance(user, User):
            raise exceptions.NotAuthenticated()
        reached = signal_broadcast(**body.validated_data, actor=user)
        return Response({"instance_ids": [str(i) for i in reached]})
