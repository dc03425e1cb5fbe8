"""SLA endpoints under /api/v1/ (API.md "SLA", docs/sla.md)."""

from django.urls import path

from apps.sla import api

urlpatterns = [
    path("sla/breaches/", api.BreachListView.as_view(), name="sla-breach-list"),
    path("sla/policies/", api.PolicyListView.as_view(), name="sla-policy-list"),
    path("sla/policies/<int:policy_id>/", api.PolicyDetailView.as_view(), name="sla-policy-detail"),
    path("sla/calendars/", api.CalendarListView.as_view(), name="sla-calendar-list"),
    path("sla/calendars/<int:calendar_id>/", api.CalendarDetailView.as_view(), name="sla-calendar-detail"),
]
