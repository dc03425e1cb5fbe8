"""REST views of the runtime (API.md "Instances" and "Incidents"). Thin: parse, call, serialize."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import OPS, ROLES, RolePermission
from apps.core.serializers import error_response
from apps.instances import selectors, services
from apps.instances.models import Incident, InstanceEvent, ProcessInstance
from apps.instances.serializers import (
    IncidentFilterSerializer,
    IncidentRetrySerializer,
    IncidentSerializer,
    InstanceDetailSerializer,
    InstanceEventSerializer,
    InstanceFilterSerializer,
    InstanceSerializer,
    InstanceStartSerializer,
)


def _caller(request: Request) -> User:
    """The signed-in user (every view here requires one; the role permission ran first)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user



# As `selectors.instance_get` orders them.
INCIDENTS_NEWEST_FIRST = Incident.objects.order_by("-opened_at", "-pk")

_401 = {401: error_response("Not authenticated.")}
_403 = {403: error_response("The caller's role may not do this.")}
_404 = {404: error_response("No such instance, or not one the caller may see.")}
_409_STEP = {
    409: error_response(
        "`instance_busy` (another step holds it; retry), `instance_suspended`, `instance_finished`, "
        "`instance_not_suspended`, or the engine's reason."
    )
}


class InstanceListCreateView(GenericAPIView[ProcessInstance]):
    """`GET /instances/` and `POST /instances/`."""

    permission_classes = [RolePermission]
    required_roles = {"*": ROLES}
    serializer_class = InstanceSerializer

    @extend_schema(
        operation_id="instances_list",
        parameters=[InstanceFilterSerializer],
        responses={200: InstanceSerializer(many=True), 400: error_response("Bad filter value."), **_401, **_403},
    )
    def get(self, request: Request) -> Response:
        """Instances the caller may see, newest first, paged."""
        filters = InstanceFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.instance_list(user=request.user, **filters.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(InstanceSerializer(page, many=True).data)

    @extend_schema(
        operation_id="instances_start",
        request=InstanceStartSerializer,
        responses={
            201: OpenApiResponse(
                InstanceDetailSerializer,
                description="Started (it may carry an incident when its first step failed).",
            ),
            400: error_response("`invalid_input`, or `unknown_process` naming `process_key` / `version`."),
            409: error_response("`duplicate_business_key`: an unfinished instance has this business key."),
            **_401,
            **_403,
        },
    )
    def post(self, request: Request) -> Response:
        """Start an instance of a deployed process and run it until it waits."""
        body = InstanceStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        instance = services.instance_start(**body.validated_data, started_by=_caller(request))
        # The starter may see what they started (every role sees its own starts): answer the row
        # the start returned, with its definition and starter in hand, instead of reading it again.
        # Its incidents are read only when its first step opened one (else the pipeline left them
        # known to be none, which the prefetch skips).
        prefetch_related_objects([instance], Prefetch("incidents", queryset=INCIDENTS_NEWEST_FIRST))
        return Response(InstanceDetailSerializer(instance).data, status=status.HTTP_201_CREATED)


class InstanceDetailView(GenericAPIView[ProcessInstance]):
    """`GET /instances/{id}/`."""

    permission_classes = [RolePermission]
    required_roles = {"*": ROLES}
    serializer_class = InstanceDetailSerializer

    @extend_schema(operation_id="instances_retrieve", responses={200: InstanceDetailSerializer, **_401, **_403, **_404})
    def get(self, request: Request, instance_id: uuid.UUID) -> Response:
        """One instance with where its tokens are, what completed, and its incidents."""
        instance = selectors.instance_get(user=request.user, instance_id=instance_id)
        return Response(InstanceDetailSerializer(instance).data)


class InstanceEventsView(GenericAPIView[InstanceEvent]):
    """`GET /instances/{id}/events/`."""

    permission_classes = [RolePermission]
    required_roles = {"*": ROLES}
    serializer_class = InstanceEventSerializer

    @extend_schema(
        operation_id="instances_events",
        responses={200: InstanceEventSerializer(many=True), **_401, **_403, **_404},
    )
    def get(self, request: Request, instance_id: uuid.UUID) -> Response:
        """The instance's audit trail in `seq` order, paged."""
        instance = selectors.instance_get(user=request.user, instance_id=instance_id)
        page = self.paginate_queryset(selectors.instance_events(instance=instance))
        return self.get_paginated_response(InstanceEventSerializer(page, many=True).data)


class _InstanceActionView(GenericAPIView[ProcessInstance]):
    """Base of the ops actions on one instance: check access, call the service, answer the instance."""

    permission_classes = [RolePermission]
    required_roles = {"*": (OPS,)}
    serializer_class = InstanceDetailSerializer
    service: Callable[..., ProcessInstance]

    def post(self, request: Request, instance_id: uuid.UUID) -> Response:
        instance = selectors.instance_get(user=request.user, instance_id=instance_id)
        type(self).service(instance=instance, actor=_caller(request))
        detail = selectors.instance_get(user=request.user, instance_id=instance_id)
        return Response(InstanceDetailSerializer(detail).data)


def _action_schema(operation_id: str, summary: str) -> Callable[[type[Any]], type[Any]]:
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            request=None,
            responses={200: InstanceDetailSerializer, **_401, **_403, **_404, **_409_STEP},
        )
    )


@_action_schema("instances_cancel", "Cancel an unfinished instance (ops, admin).")
class InstanceCancelView(_InstanceActionView):
    """`POST /instances/{id}/cancel/`."""

    service = staticmethod(services.instance_cancel)


@_action_schema("instances_suspend", "Suspend an unfinished instance (ops, admin).")
class InstanceSuspendView(_InstanceActionView):
    """`POST /instances/{id}/suspend/`."""

    service = staticmethod(services.instance_suspend)


@_action_schema("instances_resume", "Resume a suspended instance (ops, admin).")
class InstanceResumeView(_InstanceActionView):
    """`POST /instances/{id}/resume/`."""

    service = staticmethod(services.instance_resume)


class IncidentListView(GenericAPIView[Any]):
    """`GET /incidents/?status=open` (ops, admin)."""

    permission_classes = [RolePermission]
    required_roles = {"*": (OPS,)}
    serializer_class = IncidentSerializer

    @extend_schema(
        operation_id="incidents_list",
        parameters=[IncidentFilterSerializer],
        responses={200: IncidentSerializer(many=True), 400: error_response("Bad filter value."), **_401, **_403},
    )
    def get(self, request: Request) -> Response:
        """Incidents, newest first, paged."""
        filters = IncidentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.incident_list(user=request.user, **filters.validated_data))
        return self.get_paginated_response(IncidentSerializer(page, many=True).data)


class IncidentRetryView(GenericAPIView[Any]):
    """`POST /incidents/{id}/retry/` (ops, admin)."""

    permission_classes = [RolePermission]
    required_roles = {"*": (OPS,)}
    serializer_class = IncidentSerializer

    @extend_schema(
        operation_id="incidents_retry",
        request=IncidentRetrySerializer,
        parameters=[OpenApiParameter("incident_id", int, OpenApiParameter.PATH)],
        responses={
            200: OpenApiResponse(
                IncidentSerializer,
                description="The step ran again: `status` is `resolved` "
                "when it succeeded, else still `open` with one more attempt.",
            ),
            **_401,
            **_403,
            404: error_response("No such incident."),
            409: error_response("`incident_resolved`, `incident_not_retryable`, or a 409 of the step."),
        },
    )
    def post(self, request: Request, incident_id: int) -> Response:
        """Run the failed step again, optionally with corrected variables."""
        selectors.incident_get(user=request.user, incident_id=incident_id)
        body = IncidentRetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = services.incident_retry(
            incident_id=incident_id, actor=_caller(request), variables=body.validated_data.get("variables")
        )
        return Response(IncidentSerializer(incident).data)
