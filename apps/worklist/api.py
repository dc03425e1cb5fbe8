"""REST views of the worklist (API.md "Work items"). Thin: parse, call a service or selector, serialize.

Every view needs a signed-in user; which items they see is the selectors' access gate (404 for items
they may not see). Reassigning is for ops and admins (403 for others, on items they can see).
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.roles import RolePermission
from apps.core.serializers import error_response
from apps.worklist import selectors, services
from apps.worklist.forms import work_item_form
from apps.worklist.models import WorkItem, WorkItemComment
from apps.worklist.pagination import CappedCountPagination
from apps.worklist.serializers import (
    WorkItemCommentSerializer,
    WorkItemCompleteSerializer,
    WorkItemCountsSerializer,
    WorkItemFilterSerializer,
    WorkItemFormSerializer,
    WorkItemReassignSerializer,
    WorkItemSerializer,
)

_401 = {401: error_response("Not authenticated.")}
_404 = {404: error_response("No such work item, or not one the caller may see.")}
_409 = {409: error_response("`work_item_not_open` (completed or cancelled) or `work_item_claimed_by_other`.")}


class _WorkItemView(GenericAPIView[WorkItem]):
    """Base: signed-in users; items are filtered by the access gate of `apps.worklist.selectors`."""

    permission_classes = [RolePermission]
    serializer_class = WorkItemSerializer


class WorkItemListView(_WorkItemView):
    """`GET /work-items/` (its `count` is exact up to `selectors.COUNT_CAP`: see `pagination`)."""

    pagination_class = CappedCountPagination

    @extend_schema(
        operation_id="work_items_list",
        parameters=[WorkItemFilterSerializer],
        responses={200: WorkItemSerializer(many=True), 400: error_response("Bad filter value."), **_401},
    )
    def get(self, request: Request) -> Response:
        """Work items the caller may see (default: open and claimed ones), filtered, ordered, paged."""
        filters = WorkItemFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.work_item_list_for_user(user=request.user, **filters.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WorkItemSerializer(page, many=True).data)


class WorkItemCountsView(_WorkItemView):
    """`GET /work-items/counts/`."""

    serializer_class = WorkItemCountsSerializer  # type: ignore[assignment]

    @extend_schema(operation_id="work_items_counts", responses={200: WorkItemCountsSerializer, **_401})
    def get(self, request: Request) -> Response:
        """Inbox badges: `mine`, `group_queue`, `overdue`."""
        return Response(selectors.work_item_counts_for_user(user=request.user))


class WorkItemDetailView(_WorkItemView):
    """`GET /work-items/{id}/`."""

    @extend_schema(operation_id="work_items_retrieve", responses={200: WorkItemSerializer, **_401, **_404})
    def get(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """One work item."""
        item = selectors.work_item_get_for_user(user=request.user, work_item_id=work_item_id)
        return Response(WorkItemSerializer(item).data)


class WorkItemFormView(_WorkItemView):
    """`GET /work-items/{id}/form/`."""

    serializer_class = WorkItemFormSerializer  # type: ignore[assignment]

    @extend_schema(operation_id="work_items_form", responses={200: WorkItemFormSerializer, **_401, **_404})
    def get(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """The item's form: JSON Schema, UI schema and current values."""
        item = selectors.work_item_get_for_user(user=request.user, work_item_id=work_item_id)
        form = work_item_form(work_item=item)
        data = {"kind": form.kind, "schema": form.schema, "ui_schema": form.ui_schema, "values": form.values,
                "read_only_fields": form.read_only}
        return Response(WorkItemFormSerializer(data).data)


class WorkItemClaimView(_WorkItemView):
    """`POST /work-items/{id}/claim/`."""

    @extend_schema(
        operation_id="work_items_claim", request=None,
        responses={200: WorkItemSerializer, **_401, **_404,
                   409: error_response("`work_item_not_open`, `work_item_claimed_by_other`, `instance_suspended`, "
                               "`instance_busy`.")},
    )
    def post(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """Claim the item for the caller (idempotent when it is already theirs)."""
        item = services.work_item_claim(user=request.user, work_item_id=work_item_id)
        return Response(WorkItemSerializer(item).data)


class WorkItemUnclaimView(_WorkItemView):
    """`POST /work-items/{id}/unclaim/`."""

    @extend_schema(
        operation_id="work_items_unclaim", request=None,
        responses={200: WorkItemSerializer, **_401,
                   403: error_response("`not_assignee`: not the caller's, and not ops."),
                   **_404, 409: error_response("`work_item_not_open`.")},
    )
    def post(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """Put the item back in its queue (its assignee or ops)."""
        item = services.work_item_unclaim(user=request.user, work_item_id=work_item_id)
        return Response(WorkItemSerializer(item).data)


class WorkItemCompleteView(_WorkItemView):
    """`POST /work-items/{id}/complete/`."""

    @extend_schema(
        operation_id="work_items_complete", request=WorkItemCompleteSerializer,
        responses={
            200: WorkItemSerializer,
            400: error_response("`invalid_form`: details name each field `[{field, code, message}]`; nothing changed."),
            **_401, **_404, **_409,
            422: error_response("`step_failed`: the step failed; an incident was opened and the item stays claimed."),
        },
    )
    def post(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """Complete the item (an open one is claimed by the caller first) and advance the instance."""
        body = WorkItemCompleteSerializer(data=request.data)
        if not body.is_valid():
            # 404 before 400: a caller who may not see the item learns nothing from its body's errors.
            selectors.work_item_get_for_user(user=request.user, work_item_id=work_item_id)
            body.is_valid(raise_exception=True)
        # The service checks access once, on the locked row (404 there for an item the caller may not see).
        item = services.work_item_complete(
            user=request.user, work_item_id=work_item_id, variables=body.validated_data["variables"]
        )
        return Response(WorkItemSerializer(item).data)


class WorkItemReassignView(_WorkItemView):
    """`POST /work-items/{id}/reassign/` (ops, admin)."""

    @extend_schema(
        operation_id="work_items_reassign", request=WorkItemReassignSerializer,
        responses={200: WorkItemSerializer, 400: error_response("`invalid_input`, `unknown_user` naming `assignee`."),
                   **_401, 403: error_response("Only ops and admins reassign."), **_404,
                   409: error_response("`work_item_not_open`.")},
    )
    def post(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """Set or clear the assignee and/or replace the candidate groups."""
        seen = selectors.work_item_get_for_user(user=request.user, work_item_id=work_item_id)  # 404 before 400
        body = WorkItemReassignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        item = services.work_item_reassign(
            user=request.user,
            work_item_id=work_item_id,
            assignee=data.get("assignee", services.KEEP),
            candidate_groups=data.get("candidate_groups"),
            seen=seen,
        )
        return Response(WorkItemSerializer(item).data)


class WorkItemCommentsView(GenericAPIView[WorkItemComment]):
    """`GET` and `POST /work-items/{id}/comments/`."""

    permission_classes = [RolePermission]
    serializer_class = WorkItemCommentSerializer

    @extend_schema(operation_id="work_items_comments_list",
                   responses={200: WorkItemCommentSerializer(many=True), **_401, **_404})
    def get(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """The item's comments, oldest first, paged; texts verbatim."""
        item = selectors.work_item_get_for_user(user=request.user, work_item_id=work_item_id)
        page = self.paginate_queryset(selectors.work_item_comments(work_item=item))
        return self.get_paginated_response(WorkItemCommentSerializer(page, many=True).data)

    @extend_schema(operation_id="work_items_comments_create", request=WorkItemCommentSerializer,
                   responses={201: WorkItemCommentSerializer, 400: error_response("`invalid_input`."), **_401, **_404})
    def post(self, request: Request, work_item_id: uuid.UUID) -> Response:
        """Add a comment (recorded as `work_item.commented` in the instance's audit trail)."""
        seen = selectors.work_item_get_for_user(user=request.user, work_item_id=work_item_id)  # 404 before 400
        body = WorkItemCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = services.work_item_comment(
            user=request.user, work_item_id=work_item_id, text=body.validated_data["text"], seen=seen
        )
        return Response(WorkItemCommentSerializer(comment).data, status=status.HTTP_201_CREATED)
