"""bpmn.sla: reading SLA declarations from a model and reporting broken ones at upload."""

from __future__ import annotations

from datetime import timedelta

import pytest

import bpmn
from bpmn.sla import SlaSyntaxError, parse_at_risk, parse_duration, sla_declarations, sla_problems

HEAD = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'xmlns:patchbay="https://patchbay.dev/bpmn/sla" id="d" targetNamespace="https://t">')


def source(task_ext: str, process_ext: str = "") -> bpmn.ModelSource:
    xml = (f'{HEAD}<bpmn:process id="p" isExecutable="true">{process_ext}<bpmn:startEvent id="s"/>'
           f'<bpmn:userTask id="review">{task_ext}</bpmn:userTask><bpmn:endEvent id="e"/>'
           '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>'
           '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/></bpmn:process></bpmn:definitions>')
    return bpmn.ModelSource("m.bpmn", xml.encode())


def ext(attrs: str) -> str:
    return f"<bpmn:extensionElements><patchbay:sla {attrs}/></bpmn:extensionElements>"


def prop(**values: str) -> str:
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in values.items())
    return ("<bpmn:extensionElements><spiffworkflow:properties>"
            f"{inner}</spiffworkflow:properties></bpmn:extensionElements>")


@pytest.mark.parametrize(("text", "expected"), [
    ("PT4H", timedelta(hours=4)), ("P2D", timedelta(days=2)), ("P1W", timedelta(weeks=1)),
    ("PT90S", timedelta(seconds=90)), ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
    ("pt0.5s", timedelta(seconds=0.5)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "why"), [
    ("PT0S", "empty"), ("P", "not an ISO"), ("PT", "not an ISO"), ("4 hours", "not an ISO"),
    ("P1M", "years and months"), ("P1Y", "years and months"), ("P5000D", "ten years"), ("-PT1H", "not an ISO"),
])
def test_impossible_durations(text, why):
    with pytest.raises(SlaSyntaxError, match=why):
        parse_duration(text)


def test_at_risk_as_percentage_duration_or_default():
    target = timedelta(hours=10)
    assert parse_at_risk("80%", target) == timedelta(hours=8)
    assert parse_at_risk("PT9H", target) == timedelta(hours=9)
    assert parse_at_risk(None, target) == timedelta(hours=8)
    for bad in ("PT10H", "100%", "0%"):
        with pytest.raises(SlaSyntaxError):
            parse_at_risk(bad, target)


def test_extension_element_on_process_and_activity():
    found = sla_declarations(source(ext('target="PT4H" atRisk="PT3H" calendar="business" timezone="Europe/Vienna"'),
                                    ext('target="P2D" pauseOnSuspend="false"')))
    by_activity = {d.activity_id: d for d in found}
    assert by_activity["review"].target == timedelta(hours=4) and by_activity["review"].calendar == "business"
    assert by_activity["review"].timezone == "Europe/Vienna"
    assert by_activity[None].target == timedelta(days=2) and by_activity[None].pause_on_suspend is False
    assert by_activity[None].at_risk == timedelta(days=2) * 0.8


def test_spiffworkflow_properties():
    found = sla_declarations(source(prop(slaTarget="PT8H", slaCalendar="business", slaAtRisk="50%")))
    assert [(d.activity_id, d.target, d.at_risk, d.calendar) for d in found] == [
        ("review", timedelta(hours=8), timedelta(hours=4), "business")]


def test_extension_element_wins_over_properties():
    both = ext('target="PT1H"').replace("</bpmn:extensionElements>", "") + prop(slaTarget="PT9H").replace(
        "<bpmn:extensionElements>", "")
    assert sla_declarations(source(both))[0].target == timedelta(hours=1)


@pytest.mark.parametrize(("attrs", "words"), [
    ('target="PT4X"', "SLA target"),
    ('atRisk="PT1H"', "target: is missing"),
    ('target="PT1H" atRisk="PT2H"', "atRisk"),
    ('target="PT1H" timezone="Mars/Olympus"', "Mars/Olympus"),
    ('target="PT1H" calendar="no such one!"', "calendar"),
    ('target="PT1H" pauseOnSuspend="maybe"', "pauseOnSuspend"),
    ('target="PT1H" deadline="tomorrow"', "unknown attribute"),
])
def test_bad_declarations_are_upload_problems_with_the_element_id(attrs, words):
    model = source(ext(attrs))
    problems = sla_problems(model)
    assert len(problems) == 1
    assert problems[0].code == "invalid_sla" and problems[0].element_id == "review" and problems[0].line
    assert words in problems[0].message
    assert sla_declarations(model) == []
    report = bpmn.validate(model)
    assert any(p.code == "invalid_sla" and p.element_id == "review" for p in report.errors)


def test_a_valid_model_validates_clean():
    report = bpmn.validate(source(ext('target="PT4H"')))
    assert not [p for p in report.errors if p.code == "invalid_sla"]
