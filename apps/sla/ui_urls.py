"""Routes of the ops dashboard (names `ui-ops*`; the main navigation links `ui-ops`)."""

from django.urls import path

from apps.sla import ui_views

urlpatterns = [
    path("ops/", ui_views.ops_dashboard, name="ui-ops"),
    path("ops/incidents/<int:incident_id>/retry/", ui_views.ops_incident_retry, name="ui-ops-incident-retry"),
    path("ops/sla/", ui_views.ops_sla, name="ui-ops-sla"),
    path("ops/sla/<int:policy_id>/", ui_views.ops_sla_edit, name="ui-ops-sla-edit"),
    path("ops/sla/<int:policy_id>/delete/", ui_views.ops_sla_delete, name="ui-ops-sla-delete"),
    path("ops/processes/<int:definition_id>/heatmap", ui_views.ops_heatmap, name="ui-ops-heatmap"),
]
