"""REST views for process definitions. Thin: parse, call a service or selector, serialize."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.roles import ANALYST, RolePermission
from apps.core.serializers import error_response
from apps.definitions import selectors, services
from apps.definitions.serializers import (
    DefinitionSerializer,
    DefinitionUploadQuerySerializer,
    DefinitionUploadSerializer,
)

_AUTH_ERRORS = {
    401: error_response("Not authenticated."),
    403: error_response("The caller's role may not do this."),
}
_NOT_FOUND = {404: error_response("No definition with this id.")}


class DefinitionListCreateView(GenericAPIView[Any]):
    """`GET /definitions/?key=` (any signed-in user) and `POST /definitions/` (analysts)."""

    permission_classes = [RolePermission]
    required_roles = {"POST": (ANALYST,)}
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DefinitionSerializer

    @extend_schema(
        operation_id="definitions_list",
        parameters=[OpenApiParameter("key", str, description="Only versions of this process key.")],
        responses={200: DefinitionSerializer(many=True), 401: _AUTH_ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        """Deployed definitions, newest first, paged."""
        queryset = selectors.definition_list(key=request.query_params.get("key") or None)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DefinitionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="definitions_deploy",
        parameters=[DefinitionUploadQuerySerializer],
        request={"multipart/form-data": DefinitionUploadSerializer},
        responses={
            201: OpenApiResponse(DefinitionSerializer, description="Deployed as a new version."),
            200: OpenApiResponse(DefinitionSerializer, description="Same content already deployed."),
            400: error_response(
                "`invalid_model` (details list every problem with code, message, element_id, "
                "line), `file_too_large`, `empty_file`, or `invalid_input` naming the missing field "
                "or an unknown `profile`.",
            ),
            **_AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        """Deploy an uploaded model; the same content again returns the existing version."""
        query = DefinitionUploadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        upload = DefinitionUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        # Read one byte past the cap so the service sees an oversized upload without us reading it all.
        content = file.read(settings.PATCHBAY_MAX_UPLOAD_BYTES + 1)
        # RolePermission let only signed-in analysts this far; the isinstance narrows the type.
        user = request.user if isinstance(request.user, User) else None
        definition, created = services.definition_deploy(
            filename=file.name or "", content=content, deployed_by=user,
            profile=query.validated_data["profile"],
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(DefinitionSerializer(definition).data, status=code)


class DefinitionDetailView(APIView):
    """`GET /definitions/{id}/`."""

    permission_classes = [RolePermission]

    @extend_schema(
        operation_id="definitions_retrieve",
        responses={200: DefinitionSerializer, 401: _AUTH_ERRORS[401], **_NOT_FOUND},
    )
    def get(self, request: Request, definition_id: int) -> Response:
        """One definition version."""
        definition = selectors.definition_get(definition_id=definition_id)
        return Response(DefinitionSerializer(definition).data)


class DefinitionXmlView(APIView):
    """`GET /definitions/{id}/xml`: the BPMN file as uploaded (for a zip, the main `.bpmn`)."""

    permission_classes = [RolePermission]

    @extend_schema(
        operation_id="definitions_xml",
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="The BPMN XML."),
            401: _AUTH_ERRORS[401],
            **_NOT_FOUND,
        },
    )
    def get(self, request: Request, definition_id: int) -> HttpResponse:
        """The BPMN XML of the executable process, byte for byte as uploaded."""
        definition = selectors.definition_get(definition_id=definition_id)
        content = selectors.definition_xml(definition=definition)
        return _file_response(
            content, content_type="application/xml", filename=f"{definition.key}-v{definition.version}.bpmn",
            as_attachment=False,
        )


class DefinitionSourceView(APIView):
    """`GET /definitions/{id}/source`: the raw upload (`.bpmn` or `.zip`) as a download."""

    permission_classes = [RolePermission]

    @extend_schema(
        operation_id="definitions_source",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The upload (application/xml or application/zip)."
            ),
            401: _AUTH_ERRORS[401],
            **_NOT_FOUND,
        },
    )
    def get(self, request: Request, definition_id: int) -> HttpResponse:
        """The uploaded file, byte for byte, with its original file name."""
        definition = selectors.definition_get(definition_id=definition_id)
        is_zip = definition.filename.lower().endswith(".zip")
        return _file_response(
            bytes(definition.source),
            content_type="application/zip" if is_zip else "application/xml",
            filename=definition.filename,
            as_attachment=True,
        )


def _file_response(content: bytes, *, content_type: str, filename: str, as_attachment: bool) -> HttpResponse:
    """An uploaded file served back. The bytes are untrusted: a browser opening the XML must not run
    anything in it (XHTML-namespaced <script> in XML executes), hence the sandboxing CSP."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename) or ""
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
