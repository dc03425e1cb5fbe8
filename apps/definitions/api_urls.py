"""Definitions endpoints under /api/v1/ (API.md, "Definitions")."""

from django.urls import path

from apps.definitions import api

_ONE = "definitions/<int:definition_id>/"

urlpatterns = [
    path("definitions/", api.DefinitionListCreateView.as_view(), name="definition-list"),
    path(_ONE, api.DefinitionDetailView.as_view(), name="definition-detail"),
    # API.md spells the downloads without a trailing slash; accept both rather than redirect a GET
    # (the slash variants stay out of the OpenAPI document: one operation, one operationId).
    path(f"{_ONE}xml", api.DefinitionXmlView.as_view(), name="definition-xml"),
    path(f"{_ONE}xml/", api.DefinitionXmlView.as_view(schema=None), name="definition-xml-slash"),
    path(f"{_ONE}source", api.DefinitionSourceView.as_view(), name="definition-source"),
    path(f"{_ONE}source/", api.DefinitionSourceView.as_view(schema=None), name="definition-source-slash"),
]
