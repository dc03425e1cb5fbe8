"""`POST /api/v1/messages/` (API.md "Messages"): correlate a message from outside. Thin: parse, call, answer."""

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
from apps.instances.messaging import message_correlate

_SCALARS = (str, int, float, bool)


class MessageSerializer(serializers.Serializer[dict[str, Any]]):
    """A message: its name, the correlation values that pick the instance, and its variables."""

    name = serializers.CharField(max_length=255, help_text="The message name of the model (`bpmn:message/@name`).")
    correlation = serializers.DictField(
        required=False,
        default=dict,
        help_text="Correlation property -> value (strings, numbers, booleans, null). A waiting instance "
        "receives the message when every value it expects is present and equal (JSON equality: "
        '`"42"` is not `42`); extra properties are ignored; an instance expecting none takes any.',
    )
    variables = serializers.DictField(
        required=False, default=dict, help_text="Become process variables of the receiving (or started) instance."
    )
    business_key = serializers.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        default=None,
        help_text="Business key of an instance the message starts (message start event); unused on delivery.",
    )

    def validate_correlation(self, value: dict[str, Any]) -> dict[str, Any]:
        """Only scalars: a correlation value is compared for equality, never looked into."""
        bad = sorted(k for k, v in value.items() if v is not None and not isinstance(v, _SCALARS))
        if bad:
            raise serializers.ValidationError(f"values must be strings, numbers, booleans or null: {', '.join(bad)}")
        return value


class MessageResultSerializer(serializers.Serializer[dict[str, Any]]):
    """Where the message went."""

    instance_ids = serializers.ListField(child=serializers.UUIDField(), help_text="Delivered to, or started.")
    action = serializers.ChoiceField(
        choices=[("delivered", "delivered"), ("started", "started")],
        help_text="`delivered` to waiting instances, or `started` new ones by a message start event.",
    )



class MessageCorrelateView(GenericAPIView[Any]):
    """`POST /messages/`: any signed-in user with a role (integrations use a service account)."""

    permission_classes = [RolePermission]
    required_roles = {"*": ROLES}
    serializer_class = MessageSerializer

    @extend_schema(
        operation_id="messages_correlate",
        request=MessageSerializer,
        responses={
            200: MessageResultSerializer,
            400: error_response("`invalid_input` naming the fields."),
            401: error_response("Not authenticated."),
            403: error_response("The caller has no role."),
            404: error_response(
                "`no_subscription`: no instance waits for it and no process starts with it; nothing changed."
            ),
            409: error_response("`instance_busy` (retry) or `duplicate_business_key`; nothing changed."),
        },
        examples=[
            OpenApiExample(
                "Payment confirmed",
                request_only=True,
                value={"name": "payment_confirmed", "correlation": {"order_id": "o-42"}, "variables": {"paid": True}},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        """Deliver the message to every instance waiting for it, else start the processes it starts."""
        body = MessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        if not isinstance(user, User):
            raise exceptions.NotAuthenticated()
        outcome = message_correlate(**body.validated_data, actor=user)
        action = "delivered" if outcome.delivered else "started"
        return Response({"instance_ids": [str(i) for i in outcome.instance_ids], "action": action})
