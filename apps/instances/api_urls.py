"""Runtime endpoints under /api/v1/ (API.md "Instances", "Incidents", "Messages" and "Signals")."""

from django.urls import path

from apps.instances import api, api_messages, api_signals

_ONE = "instances/<uuid:instance_id>/"

urlpatterns = [
    path("instances/", api.InstanceListCreateView.as_view(), name="instance-list"),
    path(_ONE, api.InstanceDetailView.as_view(), name="instance-detail"),
    path(f"{_ONE}events/", api.InstanceEventsView.as_view(), name="instance-events"),
    path(f"{_ONE}cancel/", api.InstanceCancelView.as_view(), name="instance-cancel"),
    path(f"{_ONE}suspend/", api.InstanceSuspendView.as_view(), name="instance-suspend"),
    path(f"{_ONE}resume/", api.InstanceResumeView.as_view(), name="instance-resume"),
    path("incidents/", api.IncidentListView.as_view(), name="incident-list"),
    path("incidents/<int:incident_id>/retry/", api.IncidentRetryView.as_view(), name="incident-retry"),
    path("messages/", api_messages.MessageCorrelateView.as_view(), name="message-correlate"),
    path("signals/", api_signals.SignalBroadcastView.as_view(), name="signal-broadcast"),
]
