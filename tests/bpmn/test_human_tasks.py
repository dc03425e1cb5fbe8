"""`bpmn.human_tasks`: assignment, due dates, priorities and forms of user tasks, read from inline models."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from bpmn import ExpressionError, InvalidModel, ModelSource
from bpmn.human_tasks import DEFAULT_PRIORITY, human_task_problems, human_task_specs, resolve

NOW = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">\n'
)


def source(body: str, *, lanes: str = "", files: dict[str, str] | None = None) -> ModelSource:
    xml = f'{HEADER}<bpmn:process id="p" isExecutable="true">{lanes}{body}</bpmn:process></bpmn:definitions>'
    if files is None:
        return ModelSource("m.bpmn", xml.encode())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m.bpmn", xml)
        for name, text in files.items():
            archive.writestr(name, text)
    return ModelSource("m.zip", buffer.getvalue())


def props(**values: str) -> str:
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in values.items())
    properties = f"<spiffworkflow:properties>{inner}</spiffworkflow:properties>"
    return f"<bpmn:extensionElements>{properties}</bpmn:extensionElements>"


def one(model: ModelSource, activity_id: str = "t"):
    return human_task_specs(model)[activity_id]


def test_lane_name_is_the_candidate_group_when_none_is_named() -> None:
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="lane_sales" name="sales"><bpmn:flowNodeRef>t</bpmn:flowNodeRef>'
        '</bpmn:lane><bpmn:lane id="lane_ops"><bpmn:flowNodeRef>u</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
    )
    model = source('<bpmn:userTask id="t"/><bpmn:manualTask id="u"/>', lanes=lanes)
    specs = human_task_specs(model)
    assert resolve(specs["t"], {}, now=NOW).candidate_groups == ["sales"]
    assert resolve(specs["u"], {}, now=NOW).candidate_groups == ["lane_ops"]  # a lane without a name: its id


def test_explicit_groups_win_over_the_lane() -> None:
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="l" name="sales">'
        "<bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
    )
    model = source('<bpmn:userTask id="t" camunda:candidateGroups="billing"/>', lanes=lanes)
    assert resolve(one(model), {}, now=NOW).candidate_groups == ["billing"]


def test_camunda_attributes_are_comma_lists() -> None:
    model = source(
        '<bpmn:userTask id="t" camunda:candidateGroups=" sales , ops,sales" camunda:candidateUsers="ann, bob" '
        'camunda:assignee="carol"/>'
    )
    resolved = resolve(one(model), {}, now=NOW)
    assert resolved.candidate_groups == ["sales", "ops"]
    assert resolved.candidate_users == ["ann", "bob"]
    assert resolved.assignee == "carol"
    assert resolved.priority == DEFAULT_PRIORITY
    assert resolved.due_at is None


def test_spiff_properties_assign_too() -> None:
    extensions = props(candidateGroups="credit", assignee="dan", priority="10")
    model = source(f'<bpmn:userTask id="t">{extensions}</bpmn:userTask>')
    resolved = resolve(one(model), {}, now=NOW)
    assert (resolved.candidate_groups, resolved.assignee, resolved.priority) == (["credit"], "dan", 10)


def test_camunda_interpolation_and_paths() -> None:
    model = source('<bpmn:userTask id="t" camunda:candidateGroups="${region}_sales, ${order.team}" '
                   'camunda:assignee="${order.owner}"/>')
    variables = {"region": "north", "order": {"team": "vip", "owner": "erin"}}
    resolved = resolve(one(model), variables, now=NOW)
    assert resolved.candidate_groups == ["north_sales", "vip"]
    assert resolved.assignee == "erin"


def test_expressions_use_the_restricted_language_and_may_return_lists() -> None:
    model = source(
        '<bpmn:userTask id="t" camunda:candidateGroups="=[\'vip\', \'sales\'] if amount &gt; 1000 else [\'sales\']" '
        'camunda:priority="${amount // 100}"/>'
    )
    assert resolve(one(model), {"amount": 5000}, now=NOW).candidate_groups == ["vip", "sales"]
    assert resolve(one(model), {"amount": 5000}, now=NOW).priority == 50
    assert resolve(one(model), {"amount": 10}, now=NOW).candidate_groups == ["sales"]


def test_a_missing_variable_is_an_expression_error_naming_the_task() -> None:
    model = source('<bpmn:userTask id="t" camunda:candidateGroups="${region}_sales"/>')
    with pytest.raises(ExpressionError) as caught:
        resolve(one(model), {}, now=NOW)
    assert caught.value.element_id == "t"
    assert "region" in str(caught.value)


def test_rejected_expressions_are_model_problems() -> None:
    model = source('<bpmn:userTask id="t" camunda:assignee="=__import__(\'os\')"/>')
    problems = human_task_problems(model)
    assert [p.code for p in problems] == ["invalid_expression"]
    assert problems[0].element_id == "t"
    with pytest.raises(InvalidModel):
        human_task_specs(model)


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("P2D", {}, NOW + timedelta(days=2)),
        ("PT4H30M", {}, NOW + timedelta(hours=4, minutes=30)),
        ("P1M", {}, datetime(2026, 2, 28, 9, 0, tzinfo=UTC)),  # calendar month, clamped
        ("2026-03-01T10:00:00Z", {}, datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("2026-03-01T10:00:00+02:00", {}, datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("${sla}", {"sla": "PT1H"}, NOW + timedelta(hours=1)),
        ("=add_days('2026-02-01T00:00:00Z', 3)", {}, datetime(2026, 2, 4, tzinfo=UTC)),
    ],
)
def test_due_dates(text: str, variables: dict[str, str], expected: datetime) -> None:
    model = source(f'<bpmn:userTask id="t" camunda:dueDate="{text}"/>')
    assert resolve(one(model), variables, now=NOW).due_at == expected


def test_due_date_and_priority_from_properties_and_bad_values() -> None:
    model = source(f'<bpmn:userTask id="t">{props(dueDate="PT10M", priority="${level}")}</bpmn:userTask>')
    resolved = resolve(one(model), {"level": "7"}, now=NOW)
    assert (resolved.due_at, resolved.priority) == (NOW + timedelta(minutes=10), 7)
    with pytest.raises(ExpressionError, match="priority"):
        resolve(one(model), {"level": "high"}, now=NOW)
    bad_due = source('<bpmn:userTask id="t" camunda:dueDate="${when}"/>')
    with pytest.raises(ExpressionError, match="due date"):
        resolve(one(bad_due), {"when": "tomorrow"}, now=NOW)


CAMUNDA_FORM = """
<bpmn:userTask id="t"><bpmn:extensionElements><camunda:formData>
  <camunda:formField id="amount" label="Amount" type="long" defaultValue="100">
    <camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="1"/>
    <camunda:constraint name="max" config="1000"/></camunda:validation>
  </camunda:formField>
  <camunda:formField id="note" label="Note" type="string">
    <camunda:validation><camunda:constraint name="minlength" config="3"/>
    <camunda:constraint name="maxlength" config="20"/></camunda:validation>
  </camunda:formField>
  <camunda:formField id="approved" type="boolean" defaultValue="false"/>
  <camunda:formField id="start" label="Start" type="date"/>
  <camunda:formField id="tier" label="Tier" type="enum" defaultValue="gold">
    <camunda:value id="gold" name="Gold"/><camunda:value id="silver" name="Silver"/>
  </camunda:formField>
  <camunda:formField id="customer" type="string">
    <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
  </camunda:formField>
</camunda:formData></bpmn:extensionElements></bpmn:userTask>
"""


def test_camunda_form_data_becomes_json_schema_and_ui_schema() -> None:
    form = one(source(CAMUNDA_FORM)).form
    assert form is not None and form.kind == "camunda"
    properties = form.schema["properties"]
    assert properties["amount"] == {"type": "integer", "title": "Amount", "default": 100, "minimum": 1, "maximum": 1000}
    assert properties["note"] == {"type": "string", "title": "Note", "minLength": 3, "maxLength": 20}
    assert properties["approved"] == {"type": "boolean", "title": "approved", "default": False}
    assert properties["start"] == {"type": "string", "format": "date", "title": "Start"}
    assert properties["tier"]["enum"] == ["gold", "silver"]
    assert properties["customer"]["readOnly"] is True
    assert form.schema["required"] == ["amount"]
    assert form.schema["additionalProperties"] is False
    assert form.ui_schema["ui:order"] == ["amount", "note", "approved", "start", "tier", "customer"]
    assert form.ui_schema["tier"] == {"ui:enumNames": ["Gold", "Silver"]}
    assert form.ui_schema["customer"] == {"ui:readonly": True}
    assert form.read_only == ("customer",)


def test_unknown_camunda_field_type_or_constraint_is_a_problem() -> None:
    model = source(
        '<bpmn:userTask id="t"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="x" type="custom"/></camunda:formData></bpmn:extensionElements></bpmn:userTask>'
    )
    assert [p.code for p in human_task_problems(model)] == ["invalid_form"]
    assert "custom" in human_task_problems(model)[0].message


def test_json_schema_form_from_the_zip() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    ui = {"ok": {"ui:widget": "radio"}}
    model = source(
        '<bpmn:userTask id="t">'
        f'{props(formJsonSchemaFilename="approve-schema.json", formUiSchemaFilename="approve-ui.json")}'
        "</bpmn:userTask>",
        files={"forms/approve-schema.json": json.dumps(schema), "forms/approve-ui.json": json.dumps(ui)},
    )
    form = one(model).form
    assert form is not None
    assert (form.kind, form.schema, form.ui_schema) == ("json_schema", schema, ui)


def test_a_broken_json_form_file_is_a_clear_error() -> None:
    model = source(
        f'<bpmn:userTask id="t">{props(formJsonSchemaFilename="f.json")}</bpmn:userTask>',
        files={"f.json": '{\n  "type": "object",\n  "properties": {,}\n}'},
    )
    with pytest.raises(InvalidModel) as caught:
        human_task_specs(model)
    (problem,) = caught.value.problems
    assert (problem.code, problem.element_id, problem.file, problem.line) == ("invalid_form", "t", "f.json", 3)
    assert "not valid JSON" in problem.message


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({}, "is not in the upload"),
        ({"f.json": "[1, 2]"}, "must hold a JSON object"),
        ({"f.json": "[" * 100 + "]" * 100}, "nests deeper"),
        ({"f.json": '{"a": "' + "x" * 600_000 + '"}'}, "exceeds"),
    ],
)
def test_form_files_are_checked(files: dict[str, str], fragment: str) -> None:
    model = source(f'<bpmn:userTask id="t">{props(formJsonSchemaFilename="f.json")}</bpmn:userTask>',
                   files={**files, "other.json": "{}"})
    problems = human_task_problems(model)
    assert len(problems) == 1 and fragment in problems[0].message


def test_specs_are_cached_by_content_hash() -> None:
    model = source('<bpmn:userTask id="t" name="Check"/>')
    first = human_task_specs(model)
    assert human_task_specs(ModelSource("again.bpmn", model.content))["t"] is first["t"]
    assert first["t"].name == "Check"
