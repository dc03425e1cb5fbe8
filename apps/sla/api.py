"""REST views of the SLA app (API.md "SLA" and docs/sla.md). Thin: parse, call, serialize. Ops and admins."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import ApiError
from apps.core.roles import OPS, RolePermission
from apps.core.serializers import error_response
from apps.sla import selectors, services
from apps.sla.models import BusinessCalendar, SlaPolicy
from apps.sla.serializers import (
    BreachFilterSerializer,
    BreachSerializer,
    CalendarSerializer,
    PolicyCreateSerializer,
    PolicyInputSerializer,
    PolicyOverrideSerializer,
    PolicyReplaceSerializer,
    ProcessPoliciesSerializer,
)

_AUTH = {401: error_response("Not authenticated."), 403: error_response("Only ops and admins.")}
_400 = {400: error_response("`invalid_duration`, `unknown_calendar`, `unknown_timezone`, `invalid_escalation`, "
                    "`unknown_process`, `no_target` or `invalid_input`; `details` name the field.")}
_KEY = OpenApiParameter("process_key", str, description="The process key (definition key).")


def _process_policies(process_key: str) -> dict[str, Any]:
    return {
        "process_key": process_key,
        "policies": [p.as_dict() for p in selectors.policies_for_process(process_key=process_key)],
        "overrides": PolicyOverrideSerializer(selectors.policy_overrides(process_key=process_key), many=True).data,
    }


class _OpsView(GenericAPIView[Any]):
    permission_classes = [RolePermission]
    required_roles = {"*": (OPS,)}


class BreachListView(_OpsView):
    """`GET /sla/breaches/?process_key=&since=&kind=&activity_id=&instance_id=`: paged, newest first."""

    serializer_class = BreachSerializer

    @extend_schema(operation_id="sla_breaches_list", parameters=[BreachFilterSerializer],
                   responses={200: BreachSerializer(many=True), 400: error_response("Bad filter value."), **_AUTH})
    def get(self, request: Request) -> Response:
        """Recorded breaches (or at-risk events with `kind=at_risk`, both with `kind=all`)."""
        filters = BreachFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        data["kind"] = None if data.get("kind") == "all" else data.get("kind")
        rows: Any = selectors.breach_list(**data)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(BreachSerializer(page, many=True).data)


class PolicyListView(_OpsView):
    """`GET /sla/policies/[?process_key=]`, `PUT /sla/policies/?process_key=`, `POST /sla/policies/`."""

    serializer_class = PolicyOverrideSerializer

    @extend_schema(operation_id="sla_policies_list", parameters=[_KEY],
                   responses={200: ProcessPoliciesSerializer, 404: error_response("The process key is not deployed."),
                              **_AUTH},
                   description="With `process_key`: the effective SLAs (model + overrides) and the overrides. "
                               "Without: every override, paged.")
    def get(self, request: Request) -> Response:
        """Effective policies of a process key, or all overrides."""
        process_key = request.query_params.get("process_key")
        if process_key:
            return Response(_process_policies(process_key))
        page = self.paginate_queryset(selectors.policy_overrides())
        return self.get_paginated_response(PolicyOverrideSerializer(page, many=True).data)

    @extend_schema(operation_id="sla_policies_replace", parameters=[_KEY], request=PolicyReplaceSerializer,
                   responses={200: ProcessPoliciesSerializer, **_400, **_AUTH})
    def put(self, request: Request) -> Response:
        """Replace every override of the process key (all or nothing)."""
        process_key = request.query_params.get("process_key")
        if not process_key:
            raise ApiError("PUT needs ?process_key=", code="invalid_input",
                           details=[{"field": "process_key", "code": "required", "message": "required"}])
        body = PolicyReplaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.sla_policies_replace(process_key=process_key, items=list(body.validated_data["policies"]))
        return Response(_process_policies(process_key))

    @extend_schema(operation_id="sla_policies_create", request=PolicyCreateSerializer,
                   responses={201: PolicyOverrideSerializer, **_400, 409: error_response("`policy_exists`"), **_AUTH})
    def post(self, request: Request) -> Response:
        """Create the override of one element."""
        body = PolicyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy = services.sla_policy_save(process_key=body.validated_data["process_key"],
                                          activity_id=body.validated_data["activity_id"], data=dict(request.data))
        return Response(PolicyOverrideSerializer(policy).data, status=status.HTTP_201_CREATED)


class PolicyDetailView(_OpsView):
    """`GET/PUT/DELETE /sla/policies/{id}/`: one override."""

    serializer_class = PolicyOverrideSerializer

    @extend_schema(operation_id="sla_policies_retrieve", responses={200: PolicyOverrideSerializer, **_AUTH})
    def get(self, request: Request, policy_id: int) -> Response:
        """One override."""
        return Response(PolicyOverrideSerializer(selectors.policy_override_get(policy_id=policy_id)).data)

    @extend_schema(operation_id="sla_policies_update", request=PolicyInputSerializer,
                   responses={200: PolicyOverrideSerializer, **_400, **_AUTH})
    def put(self, request: Request, policy_id: int) -> Response:
        """Replace the override's fields (its process key and activity stay)."""
        policy: SlaPolicy = selectors.policy_override_get(policy_id=policy_id)
        PolicyInputSerializer(data=request.data).is_valid(raise_exception=True)
        policy = services.sla_policy_save(process_key=policy.process_key, activity_id=policy.activity_id,
                                          data=dict(request.data), policy=policy)
        return Response(PolicyOverrideSerializer(policy).data)

    @extend_schema(operation_id="sla_policies_destroy", responses={204: None, **_AUTH})
    def delete(self, request: Request, policy_id: int) -> Response:
        """Remove the override (the model's SLA applies again)."""
        services.sla_policy_delete(policy=selectors.policy_override_get(policy_id=policy_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarListView(_OpsView):
    """`GET/POST /sla/calendars/`."""

    serializer_class = CalendarSerializer

    @extend_schema(operation_id="sla_calendars_list", responses={200: CalendarSerializer(many=True), **_AUTH})
    def get(self, request: Request) -> Response:
        """Every business calendar, paged."""
        page = self.paginate_queryset(selectors.calendar_list())
        return self.get_paginated_response(CalendarSerializer(page, many=True).data)

    @extend_schema(operation_id="sla_calendars_create", request=CalendarSerializer,
                   responses={201: CalendarSerializer, **_400, **_AUTH})
    def post(self, request: Request) -> Response:
        """Create a calendar."""
        body = CalendarSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        calendar = services.business_calendar_save(data=dict(body.validated_data))
        return Response(CalendarSerializer(calendar).data, status=status.HTTP_201_CREATED)


class CalendarDetailView(_OpsView):
    """`GET/PUT/DELETE /sla/calendars/{id}/`."""

    serializer_class = CalendarSerializer

    @extend_schema(operation_id="sla_calendars_retrieve", responses={200: CalendarSerializer, **_AUTH})
    def get(self, request: Request, calendar_id: int) -> Response:
        """One calendar."""
        return Response(CalendarSerializer(selectors.calendar_get(calendar_id=calendar_id)).data)

    @extend_schema(operation_id="sla_calendars_update", request=CalendarSerializer,
                   responses={200: CalendarSerializer, **_400, **_AUTH})
    def put(self, request: Request, calendar_id: int) -> Response:
        """Replace the calendar's fields (clocks already running keep their due times)."""
        calendar: BusinessCalendar = selectors.calendar_get(calendar_id=calendar_id)
        body = CalendarSerializer(calendar, data=request.data)
        body.is_valid(raise_exception=True)
        calendar = services.business_calendar_save(data=dict(body.validated_data), calendar=calendar)
        return Response(CalendarSerializer(calendar).data)

    @extend_schema(operation_id="sla_calendars_destroy", responses={204: None, 409: error_response("`calendar_in_use`"),
                                                                    **_AUTH})
    def delete(self, request: Request, calendar_id: int) -> Response:
        """Delete a calendar no override uses."""
        services.business_calendar_delete(calendar=selectors.calendar_get(calendar_id=calendar_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

