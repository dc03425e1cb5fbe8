"""Routes of the web UI (names `ui-*`; the main navigation finds its pages by these names)."""

from django.urls import path

from apps.ui.views import inbox, instances, processes

urlpatterns = [
    path("inbox/", inbox.inbox, name="ui-inbox"),
    path("inbox/<uuid:item_id>/", inbox.task, name="ui-task"),
    path("inbox/<uuid:item_id>/claim/", inbox.claim, name="ui-task-claim"),
    path("inbox/<uuid:item_id>/unclaim/", inbox.unclaim, name="ui-task-unclaim"),
    path("inbox/<uuid:item_id>/complete/", inbox.complete, name="ui-task-complete"),
    path("inbox/<uuid:item_id>/comments/", inbox.comment, name="ui-task-comment"),
    path("processes/", processes.process_library, name="ui-processes"),
    path("processes/upload/", processes.process_upload, name="ui-process-upload"),
    path("processes/<int:definition_id>/", processes.process_detail, name="ui-process"),
    path("processes/<int:definition_id>/xml", processes.process_xml, name="ui-process-xml"),
    path("processes/<int:definition_id>/start/", processes.process_start, name="ui-process-start"),
    path("instances/", instances.instance_list, name="ui-instances"),
    path("instances/<uuid:instance_id>/", instances.instance_detail, name="ui-instance"),
    path("instances/<uuid:instance_id>/<slug:action>/", instances.instance_action, name="ui-instance-action"),
    path(
        "instances/<uuid:instance_id>/incidents/<int:incident_id>/retry/",
        instances.incident_retry,
        name="ui-incident-retry",
    ),
]
