"""Integrations endpoints under /api/v1/: external systems and service calls."""

from django.urls import path

from apps.integrations import api

urlpatterns = [
    path("systems/", api.SystemListView.as_view(), name="system-list"),
    path("systems/<str:name>/", api.SystemDetailView.as_view(), name="system-detail"),
    path("systems/<str:name>/pause/", api.SystemPauseView.as_view(), name="system-pause"),
    path("systems/<str:name>/resume/", api.SystemResumeView.as_view(), name="system-resume"),
    path("service-calls/", api.ServiceCallListView.as_view(), name="service-call-list"),
    path("service-calls/<int:call_id>/", api.ServiceCallDetailView.as_view(), name="service-call-detail"),
]
