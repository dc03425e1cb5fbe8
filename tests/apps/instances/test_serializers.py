"""Instance, incident and event responses are what DRF's own `Serializer.to_representation` makes.

These serializers answer through fields built once per process (`FieldsBuiltOnce`); the tests hold
them to the stock path (fields built for each serializer), with and without incidents.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.instances.models import Incident, InstanceEvent, ProcessInstance
from apps.instances.selectors import instance_get
from apps.instances.serializers import (
    IncidentSerializer,
    InstanceDetailSerializer,
    InstanceEventSerializer,
    InstanceSerializer,
)
from apps.instances.services import instance_start
from tests.apps.instances import samples


def _stock(serializer_class: type[serializers.Serializer[Any]], obj: Any) -> dict[str, Any]:
    return serializers.Serializer.to_representation(serializer_class(), obj)


def test_instances_with_and_without_incidents_answer_as_drf_builds_them(deploy, users) -> None:
    deploy(samples.APPROVAL)
    deploy(samples.BROKEN)
    waiting = instance_start(process_key="approval", business_key="b-1", variables={"n": 1},
                             started_by=users["agent"])
    failed = instance_start(process_key="broken", started_by=None)

    for started in (waiting, failed):
        instance = instance_get(user=users["ops"], instance_id=started.pk)
        detail = InstanceDetailSerializer(instance).data
        assert detail == _stock(InstanceDetailSerializer, instance)
        assert InstanceSerializer(instance).data == _stock(InstanceSerializer, instance)
        assert len(detail["incidents"]) == (started is failed)

    [incident] = Incident.objects.filter(instance=failed)
    assert IncidentSerializer(incident).data == _stock(IncidentSerializer, incident)
    assert IncidentSerializer(incident).data["instance_id"] == str(failed.pk)
    listed = list(ProcessInstance.objects.select_related("definition", "started_by").order_by("started_at"))
    assert InstanceSerializer(listed, many=True).data == [_stock(InstanceSerializer, i) for i in listed]


def test_audit_events_answer_as_drf_builds_them(deploy, users) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])
    events = list(InstanceEvent.objects.filter(instance=instance).order_by("seq"))

    assert len(events) > 1
    assert InstanceEventSerializer(events, many=True).data == [_stock(InstanceEventSerializer, e) for e in events]
