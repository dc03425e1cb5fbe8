"""REST views of the integrations: external systems (pause, resume) and the outbox of service calls."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import OPS, ROLES, RolePermission
from apps.core.serializers import error_response
from apps.integrations import selectors, systems
from apps.integrations.serializers import (
    ServiceCallDetailSerializer,
    ServiceCallFilterSerializer,
    ServiceCallSerializer,
    SystemSerializer,
)

_401 = {401: error_response("Not authenticated.")}
_403 = {403: error_response("The caller's role may not do this.")}
_NAME = OpenApiParameter("name", str, OpenApiParameter.PATH, description="The system, e.g. `http`.")


class SystemListView(GenericAPIView[Any]):
    """`GET /systems/` (any signed-in user)."""

    permission_classes = [RolePermission]
    required_roles = {"*": ROLES}
    serializer_class = SystemSerializer
    pagination_class = None

    @extend_schema(operation_id="systems_list", responses={200: SystemSerializer(many=True), **_401, **_403})
    def get(self, request: Request) -> Response:
        """Every external system with its pause and breaker state, limits and calls by state."""
        return Response(SystemSerializer(selectors.system_list(), many=True).data)


class SystemDetailView(GenericAPIView[Any]):
    """`GET /systems/{name}/` (any signed-in user)."""

    permission_classes = [RolePermission]
    required_roles = {"*": ROLES}
    serializer_class = SystemSerializer

    @extend_schema(
        operation_id="systems_retrieve",
        parameters=[_NAME],
        responses={200: SystemSerializer, **_401, **_403, 404: error_response("No such system.")},
    )
    def get(self, request: Request, name: str) -> Response:
        """One external system."""
        return Response(SystemSerializer(selectors.system_get(name=name)).data)


class _SystemActionView(GenericAPIView[Any]):
    permission_classes = [RolePermission]
    required_roles = {"*": (OPS,)}
    serializer_class = SystemSerializer
    system_action = staticmethod(systems.system_pause)

    def post(self, request: Request, name: str) -> Response:
        type(self).system_action(name=name)
        return Response(SystemSerializer(selectors.system_get(name=name)).data)


_ACTION_RESPONSES = {200: SystemSerializer, **_401, **_403, 404: error_response("No such system.")}


class SystemPauseView(_SystemActionView):
    """`POST /systems/{name}/pause/` (ops, admin)."""

    system_action = staticmethod(systems.system_pause)

    @extend_schema(operation_id="systems_pause", request=None, parameters=[_NAME], responses=_ACTION_RESPONSES)
    def post(self, request: Request, name: str) -> Response:
        """Pause the system: its calls wait (pending) until it is resumed; running calls finish."""
        return super().post(request, name)


class SystemResumeView(_SystemActionView):
    """`POST /systems/{name}/resume/` (ops, admin)."""

    system_action = staticmethod(systems.system_resume)

    @extend_schema(operation_id="systems_resume", request=None, parameters=[_NAME], responses=_ACTION_RESPONSES)
    def post(self, request: Request, name: str) -> Response:
        """Resume the system: its waiting calls run again."""
        return super().post(request, name)


class ServiceCallListView(GenericAPIView[Any]):
    """`GET /service-calls/?instance_id=&status=&operation=` (ops, admin)."""

    permission_classes = [RolePermission]
    required_roles = {"*": (OPS,)}
    serializer_class = ServiceCallSerializer

    @extend_schema(
        operation_id="service_calls_list",
        parameters=[ServiceCallFilterSerializer],
        responses={200: ServiceCallSerializer(many=True), 400: error_response("Bad filter value."), **_401, **_403},
    )
    def get(self, request: Request) -> Response:
        """Outbound calls (the outbox), newest first, paged."""
        filters = ServiceCallFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.service_call_list(user=request.user, **filters.validated_data))
        return self.get_paginated_response(ServiceCallSerializer(page, many=True).data)


class ServiceCallDetailView(GenericAPIView[Any]):
    """`GET /service-calls/{id}/` (ops, admin)."""

    permission_classes = [RolePermission]
    required_roles = {"*": (OPS,)}
    serializer_class = ServiceCallDetailSerializer

    @extend_schema(
        operation_id="service_calls_retrieve",
        responses={200: ServiceCallDetailSerializer, **_401, **_403, 404: error_response("No such service call.")},
    )
    def get(self, request: Request, call_id: int) -> Response:
        """One outbound call with its parameters and result."""
        call = selectors.service_call_get(user=request.user, call_id=call_id)
        return Response(ServiceCallDetailSerializer(call).data)
