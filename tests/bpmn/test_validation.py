"""The validation report: every problem, with code, element id, line and file; never an exception."""

from __future__ import annotations

import io
import itertools
import zipfile
from pathlib import Path

import pytest

from bpmn import validation
from bpmn.types import ModelSource
from bpmn.validation import validate

MODELS = Path(__file__).parent / "models"
EXAMPLES = ["simple_script.bpmn", "parallel.bpmn", "user_task.bpmn", "service_task.bpmn", "timer.bpmn",
            "message.bpmn"]
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs" targetNamespace="http://patchbay.example/bpmn">
"""
START = '<bpmn:startEvent id="start" />'
END = '<bpmn:endEvent id="end" />'


def source(body: str, *, key: str = "proc", extra: str = "", executable: str = "true") -> ModelSource:
    """A one-process document; the process element is on line 6 and `body` starts on line 7."""
    xml = (f'{HEAD}<bpmn:process id="{key}" name="Proc" isExecutable="{executable}">\n{body}\n'
           f"</bpmn:process>\n{extra}</bpmn:definitions>\n")
    return ModelSource(f"{key}.bpmn", xml.encode())


def flows(*ids: str) -> str:
    return "\n".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />'
                     for a, b in itertools.pairwise(ids))


def codes(report) -> list[tuple[str, str | None]]:
    return [(p.code, p.element_id) for p in report.problems]


def zipped(files: dict[str, bytes]) -> ModelSource:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return ModelSource("model.zip", buffer.getvalue())


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_models_are_valid(name):
    model = ModelSource(name, (MODELS / name).read_bytes())
    report = validate(model, operations={"core.echo"})
    assert report.problems == ()
    assert report.ok
    assert report.process_key == name.removesuffix(".bpmn")
    assert report.content_hash == model.content_hash
    assert report.files == (name,)


def test_simple_model_report():
    report = validate(ModelSource("simple_script.bpmn", (MODELS / "simple_script.bpmn").read_bytes()))
    assert (report.ok, report.process_key, report.process_name) == (True, "simple_script", "Simple script")


MANY_PROBLEMS = """<bpmn:startEvent id="start" />
<bpmn:exclusiveGateway id="gate" default="f_default" />
<bpmn:sequenceFlow id="f_start_gate" sourceRef="start" targetRef="gate" />
<bpmn:sequenceFlow id="f_bad_condition" sourceRef="gate" targetRef="spin">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">__import__('os')</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_default" sourceRef="gate" targetRef="wait" />
<bpmn:scriptTask id="spin">
  <bpmn:script>x = 1
while True: pass</bpmn:script>
</bpmn:scriptTask>
<bpmn:sequenceFlow id="f_spin_call" sourceRef="spin" targetRef="call" />
<bpmn:intermediateCatchEvent id="wait">
  <bpmn:timerEventDefinition>
    <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT4X</bpmn:timeDuration>
  </bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f_wait_call" sourceRef="wait" targetRef="call" />
<bpmn:serviceTask id="call">
  <bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="billing.nope" resultVariable="r">
      <spiffworkflow:parameters />
    </spiffworkflow:serviceTaskOperator>
  </bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:sequenceFlow id="f_call_end" sourceRef="call" targetRef="end" />
<bpmn:endEvent id="end" />
<bpmn:userTask id="typo" nmae="oops" />"""


def test_every_problem_is_listed_with_code_element_and_line():
    report = validate(source(MANY_PROBLEMS), operations={"core.echo"})
    found = [(p.code, p.element_id, p.line, p.file) for p in report.problems]
    assert found == [
        ("invalid_expression", "f_bad_condition", 11, "proc.bpmn"),
        ("invalid_script", "spin", 16, "proc.bpmn"),  # line 2 of the script
        ("invalid_timer", "wait", 21, "proc.bpmn"),
        ("unknown_operation", "call", 27, "proc.bpmn"),
        ("schema_error", "typo", 34, "proc.bpmn"),
    ]
    assert "__import__" in report.problems[0].message
    assert "while" in report.problems[1].message
    assert "PT4X" in report.problems[2].message
    assert "billing.nope" in report.problems[3].message
    assert "nmae" in report.problems[4].message
    assert not report.ok


def test_operations_are_not_checked_without_a_list():
    report = validate(source(MANY_PROBLEMS), operations=None)
    assert "unknown_operation" not in [code for code, _ in codes(report)]


@pytest.mark.parametrize(("content", "code"), [
    (b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n<a>&b;</a>',
     "doctype_forbidden"),
    (b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "doctype_forbidden"),
    (b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>', "doctype_forbidden"),
    (b"<a>" * 300 + b"</a>" * 300, "too_deep"),
    (b"<bpmn:definitions", "malformed_xml"),
])
def test_hostile_xml_gives_a_report(content, code):
    report = validate(ModelSource("evil.bpmn", content))
    assert [p.code for p in report.problems] == [code]
    assert report.problems[0].file == "evil.bpmn"
    assert not report.ok


def test_zip_problems_give_a_report():
    report = validate(zipped({"../evil.bpmn": b"<a/>", "ok.bpmn": b"<a/>"}))
    assert [(p.code, p.file) for p in report.problems] == [("bad_archive", "../evil.bpmn")]


def test_every_broken_file_of_a_zip_is_listed():
    report = validate(zipped({"a.bpmn": b"<a>", "b.bpmn": b"<!DOCTYPE b>\n<b/>"}))
    assert [(p.code, p.file) for p in report.problems] == [("malformed_xml", "a.bpmn"),
                                                          ("doctype_forbidden", "b.bpmn")]
    assert report.files == ("a.bpmn", "b.bpmn")


def test_all_schema_errors_are_collected():
    tasks = '<bpmn:task id="t1" bad="1" />\n<bpmn:task id="t2" worse="2" />'
    body = f'{START}\n{tasks}\n{END}\n{flows("start", "t1", "t2", "end")}'
    report = validate(source(body))
    assert [(p.code, p.element_id, p.line) for p in report.problems] == [
        ("schema_error", "t1", 8), ("schema_error", "t2", 9)]


@pytest.mark.parametrize(("element", "element_id"), [
    ('<bpmn:adHocSubProcess id="adhoc"><bpmn:task id="inside" />'
     "<bpmn:completionCondition>done</bpmn:completionCondition></bpmn:adHocSubProcess>", "adhoc"),
    ('<bpmn:intermediateThrowEvent id="go_to"><bpmn:linkEventDefinition name="x" />'
     "</bpmn:intermediateThrowEvent>", "go_to"),
    ('<bpmn:dataStoreReference id="store" />', "store"),
])
def test_unsupported_elements_are_located(element, element_id):
    body = f"{START}\n{element}\n{END}\n{flows('start', 'end')}"
    report = validate(source(body))
    generic = [(p.code, p.element_id, p.line) for p in report.problems if not p.code.startswith("bpmn_rule_")]
    assert generic == [("unsupported_element", element_id, 8)]
    # The element is also unconnected: the BPMN rules it breaks name it too, never another element.
    assert {p.element_id for p in report.problems} == {element_id}


def test_compensation_boundary_event_needs_a_handler():
    body = f"""{START}
<bpmn:task id="book" />
<bpmn:boundaryEvent id="on_undo" attachedToRef="book"><bpmn:compensateEventDefinition /></bpmn:boundaryEvent>
{END}
{flows("start", "book", "end")}"""
    assert codes(validate(source(body))) == [("bpmn_rule_comp001", "on_undo")]


def test_compensation_event_subprocess_is_unsupported():
    body = f"""{START}
<bpmn:subProcess id="undo_all" triggeredByEvent="true"><bpmn:startEvent id="on_undo">
<bpmn:compensateEventDefinition /></bpmn:startEvent></bpmn:subProcess>
{END}
{flows("start", "end")}"""
    assert ("unsupported_element", "on_undo") in codes(validate(source(body)))


def test_no_start_event():
    report = validate(source(f'<bpmn:task id="t" />\n{END}\n{flows("t", "end")}'))
    assert [(p.code, p.element_id, p.line) for p in report.problems] == [
        ("no_start_event", "proc", 6), ("bpmn_rule_ext097", "proc", 6)]


def test_event_subprocess_start_does_not_count():
    body = """<bpmn:task id="t" />
<bpmn:subProcess id="on_error" triggeredByEvent="true">
  <bpmn:startEvent id="caught"><bpmn:errorEventDefinition /></bpmn:startEvent>
  <bpmn:endEvent id="handled" />
  <bpmn:sequenceFlow id="f_caught" sourceRef="caught" targetRef="handled" />
</bpmn:subProcess>"""
    assert codes(validate(source(body))) == [("no_start_event", "proc")]


def test_subprocess_without_start_event():
    body = f"""{START}
<bpmn:subProcess id="inner"><bpmn:task id="lonely" /></bpmn:subProcess>
{END}
{flows("start", "inner", "end")}"""
    assert codes(validate(source(body))) == [("no_start_event", "inner")]


def test_no_executable_process():
    report = validate(source(f"{START}\n{END}\n{flows('start', 'end')}", executable="false"))
    assert [p.code for p in report.problems] == ["no_executable_process"]
    assert report.process_key is None


def test_non_executable_processes_are_not_checked():
    pool = ('<bpmn:process id="pool" isExecutable="false"><bpmn:complexGateway id="g" />'
            '<bpmn:scriptTask id="s"><bpmn:script>import os</bpmn:script></bpmn:scriptTask></bpmn:process>\n')
    report = validate(source(f"{START}\n{END}\n{flows('start', 'end')}", extra=pool))
    assert report.ok, report.problems


def test_missing_operation():
    body = f'{START}\n<bpmn:serviceTask id="call" />\n{END}\n{flows("start", "call", "end")}'
    report = validate(source(body), operations={"core.echo"})
    assert [(p.code, p.element_id, p.line) for p in report.problems] == [("missing_operation", "call", 8)]


def test_every_expression_site_is_checked():
    body = f"""{START}
<bpmn:task id="pre_post">
  <bpmn:extensionElements>
    <spiffworkflow:preScript>import os</spiffworkflow:preScript>
    <spiffworkflow:postScript>y = __builtins__</spiffworkflow:postScript>
  </bpmn:extensionElements>
</bpmn:task>
<bpmn:serviceTask id="call">
  <bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="core.echo">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="amount" type="any" value="amount.__class__" />
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>
  </bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:task id="each">
  <bpmn:multiInstanceLoopCharacteristics>
    <bpmn:loopCardinality>(</bpmn:loopCardinality>
    <bpmn:completionCondition>_hidden</bpmn:completionCondition>
  </bpmn:multiInstanceLoopCharacteristics>
</bpmn:task>
<bpmn:task id="again">
  <bpmn:standardLoopCharacteristics><bpmn:loopCondition>__x</bpmn:loopCondition></bpmn:standardLoopCharacteristics>
</bpmn:task>
<bpmn:task id="collect">
  <bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>items.first</bpmn:loopDataInputRef>
  </bpmn:multiInstanceLoopCharacteristics>
</bpmn:task>
<bpmn:intermediateCatchEvent id="until">
  <bpmn:conditionalEventDefinition><bpmn:condition>lambda:1</bpmn:condition></bpmn:conditionalEventDefinition>
</bpmn:intermediateCatchEvent>
{END}
{flows("start", "pre_post", "call", "each", "again", "collect", "until", "end")}"""
    extra = """<bpmn:message id="paid" name="paid" />
<bpmn:correlationProperty id="order_id">
  <bpmn:correlationPropertyRetrievalExpression messageRef="paid">
    <bpmn:formalExpression>__import__('os')</bpmn:formalExpression>
  </bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
"""
    report = validate(source(body, extra=extra), operations={"core.echo"})
    assert [(p.code, p.element_id, p.line) for p in report.problems] == [
        ("invalid_script", "pre_post", 10),
        ("invalid_script", "pre_post", 11),
        ("invalid_expression", "call", 18),
        ("invalid_expression", "each", 25),
        ("bpmn_rule_ext012", "each", 25),  # "(" is no expression at all: natural language for BPMN
        ("invalid_expression", "each", 26),
        ("invalid_expression", "again", 30),
        ("invalid_expression", "collect", 33),
        ("invalid_expression", "until", 37),
        ("invalid_expression", "order_id", 51),
    ]


def test_timers_of_every_kind():
    body = f"""{START}
<bpmn:intermediateCatchEvent id="by_date"><bpmn:timerEventDefinition>
  <bpmn:timeDate>2026-12-01T09:00:00</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="by_expression"><bpmn:timerEventDefinition>
  <bpmn:timeDuration>reminder_delay</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:task id="work" />
<bpmn:boundaryEvent id="every_hour" attachedToRef="work" cancelActivity="false"><bpmn:timerEventDefinition>
  <bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:boundaryEvent id="wrong_kind" attachedToRef="work"><bpmn:timerEventDefinition>
  <bpmn:timeCycle>PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:intermediateCatchEvent id="empty"><bpmn:timerEventDefinition>
  <bpmn:timeDuration> </bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
{END}
<bpmn:endEvent id="stopped" />
{flows("start", "by_date", "by_expression", "work", "empty", "end")}
{flows("every_hour", "stopped")}
<bpmn:sequenceFlow id="f_wrong" sourceRef="wrong_kind" targetRef="stopped" />"""
    report = validate(source(body))
    # The date without an offset is neither an ISO 8601 literal nor an expression, so it also breaks
    # EXT.012 (an untyped text that cannot be read as a formal expression); the empty one EXT.013.
    assert [(p.code, p.element_id, p.line) for p in report.problems] == [
        ("invalid_timer", "by_date", 9), ("bpmn_rule_ext012", "by_date", 9), ("invalid_timer", "wrong_kind", 16),
        ("invalid_timer", "empty", 18), ("bpmn_rule_ext013", "empty", 18)]
    assert "offset" in report.problems[0].message


def test_spiffworkflow_parse_errors_are_located():
    # An exclusive gateway's non-default flow needs a condition (several flows out of a task are fine).
    body = f"""{START}
<bpmn:exclusiveGateway id="fork" />
<bpmn:task id="a" />
<bpmn:task id="b" />
{END}
{flows("start", "fork", "a", "end")}
<bpmn:sequenceFlow id="f_fork_b" sourceRef="fork" targetRef="b" />
<bpmn:sequenceFlow id="f_b_end" sourceRef="b" targetRef="end" />"""
    report = validate(source(body))
    [problem] = report.problems
    found = (problem.code, problem.element_id, problem.line, problem.file)
    assert found == ("parse_error", "f_fork_a", 13, "proc.bpmn")
    assert "without condition" in problem.message


def test_call_activity_to_a_missing_process():
    call = '<bpmn:callActivity id="call" calledElement="elsewhere" />'
    body = f'{START}\n{call}\n{END}\n{flows("start", "call", "end")}'
    report = validate(source(body))
    assert [(p.code, p.element_id, p.line) for p in report.problems] == [("parse_error", "call", 8)]


def test_call_activity_across_files_is_valid():
    main = source(f'{START}\n<bpmn:callActivity id="call" calledElement="sub" />\n{END}\n'
                  f'{flows("start", "call", "end")}', key="main")
    sub = source(f"{START}\n{END}\n{flows('start', 'end')}", key="sub")
    report = validate(zipped({"sub.bpmn": sub.content, "main.bpmn": main.content, "notes.txt": b"x"}))
    assert report.ok, report.problems
    assert report.process_key == "main"
    found = [(p.code, p.file, p.severity) for p in report.problems]
    assert found == [("ignored_file", "notes.txt", "warning")]


def test_dmn_schema_errors_are_reported_with_their_file():
    body = f"""{START}
<bpmn:businessRuleTask id="decide"><bpmn:extensionElements>
  <spiffworkflow:calledDecisionId>discount</spiffworkflow:calledDecisionId>
</bpmn:extensionElements></bpmn:businessRuleTask>
{END}
{flows("start", "decide", "end")}"""
    dmn = (MODELS / "discount.dmn").read_bytes()
    dmn = dmn.replace(b'<decision id="discount"', b'<decision bogus="1" id="discount"')
    report = validate(zipped({"p.bpmn": source(body).content, "d.dmn": dmn}))
    assert [(p.code, p.file, p.line) for p in report.problems] == [("schema_error", "d.dmn", 4)]
    good = validate(zipped({"p.bpmn": source(body).content, "d.dmn": (MODELS / "discount.dmn").read_bytes()}))
    assert good.ok, good.problems


def test_several_executable_processes_warn():
    other = ('<bpmn:process id="other" isExecutable="true"><bpmn:startEvent id="s2" /><bpmn:endEvent id="e2" />'
             '<bpmn:sequenceFlow id="f2" sourceRef="s2" targetRef="e2" /></bpmn:process>\n')
    report = validate(source(f"{START}\n{END}\n{flows('start', 'end')}", extra=other))
    assert report.ok
    assert report.process_key == "proc"
    assert [(p.code, p.severity) for p in report.problems] == [("ambiguous_process", "warning")]


def test_long_chain_validates():
    lines = [START]
    previous = "start"
    for index in range(3_000):
        lines.append(f'<bpmn:task id="t{index}" />')
        lines.append(f'<bpmn:sequenceFlow id="f{index}" sourceRef="{previous}" targetRef="t{index}" />')
        previous = f"t{index}"
    lines += [END, f'<bpmn:sequenceFlow id="f_end" sourceRef="{previous}" targetRef="end" />']
    assert validate(source("\n".join(lines))).ok


def test_unexpected_exceptions_become_a_problem(monkeypatch):
    def explode(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(validation, "_check_texts", explode)
    report = validate(ModelSource("simple_script.bpmn", (MODELS / "simple_script.bpmn").read_bytes()))
    assert [p.code for p in report.problems] == ["parse_error"]
    assert "boom" in report.problems[0].message
    assert not report.ok


def test_a_broken_form_file_of_a_user_task_is_an_upload_problem() -> None:
    import io
    import zipfile

    from bpmn import ModelSource, validate

    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">\n'
        '<bpmn:process id="with_form" isExecutable="true">\n'
        '<bpmn:startEvent id="start"/>\n'
        '<bpmn:userTask id="fill"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="form.json"/>'
        '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>\n'
        '<bpmn:endEvent id="end"/>\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>\n'
        '<bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="end"/>\n'
        '</bpmn:process>\n</bpmn:definitions>\n'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("with_form.bpmn", xml)
        archive.writestr("form.json", "{not json")

    report = validate(ModelSource("with_form.zip", buffer.getvalue()))

    assert not report.ok
    assert any(p.code == "invalid_form" and p.element_id == "fill" for p in report.problems)
