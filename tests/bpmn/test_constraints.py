"""Static BPMN rules (`bpmn.constraints`): each family rejects a broken model at the right element and line,
and accepts its valid counterpart."""

from __future__ import annotations

import pytest

from bpmn import validate
from bpmn.constraints import RULES, check
from bpmn.loading import parse_xml
from bpmn.types import ModelSource
from tests.bpmn.xml import flow, model

START_END = '<bpmn:startEvent id="start"/>\n<bpmn:endEvent id="end"/>\n'


def rule_problems(source, code):
    return [p for p in validate(source).problems if p.code == code]


def assert_rule(body, code, element_id, *, extra="", occurrence=0):
    source = model(body, extra=extra)
    found = rule_problems(source, code)
    assert found, [p.as_dict() for p in validate(source).problems]
    problem = found[0]
    assert problem.element_id == element_id
    assert problem.message.startswith(code.removeprefix("bpmn_rule_").upper()[:3])
    lines = [i for i, text in enumerate(source.content.decode().splitlines(), 1) if f'id="{element_id}"' in text]
    line = lines[occurrence]
    assert problem.line == line


def assert_valid(body, *, extra=""):
    report = validate(model(body, extra=extra))
    assert [p for p in report.problems if p.code.startswith("bpmn_rule_")] == []


def test_every_rule_has_an_id_a_summary_and_a_code():
    assert len({r.rule_id for r in RULES}) == len(RULES)
    assert all(r.summary and r.code.startswith("bpmn_rule_") for r in RULES)


def test_ids_are_unique():
    # validate() also reports a repeated id as a schema error (xs:ID); EXT.002 runs on such files too
    # (on_schema_errors) and names the second element.
    source = model(START_END + '<bpmn:task id="start"/>\n' + flow("f1", "start", "end"))
    found = [p for p in check([("m.bpmn", parse_xml(source.content, "m.bpmn"))]) if p.code == "bpmn_rule_ext002"]
    assert [(p.element_id, p.line) for p in found] == [("start", 6)]
    assert found[0].message.startswith("EXT.002: ")


def test_flow_lists_must_match_the_flows():
    body = ('<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
            '<bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>\n' + flow("f1", "start", "end"))
    assert_rule(body, "bpmn_rule_ext023", "end")
    assert_valid(body.replace("f9", "f1"))


def test_end_events_have_no_outgoing_flow():
    body = (START_END + '<bpmn:task id="t"/>\n' + flow("f1", "start", "t") + flow("f2", "t", "end")
            + flow("f3", "end", "t"))
    assert_rule(body, "bpmn_rule_ext104", "end")
    assert_valid(START_END + '<bpmn:task id="t"/>\n' + flow("f1", "start", "t") + flow("f2", "t", "end"))


@pytest.mark.parametrize(("definition", "valid"), [
    ("<bpmn:errorEventDefinition/>", False),
    ('<bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>', True),
])
def test_top_level_start_event_triggers(definition, valid):
    body = (f'<bpmn:startEvent id="start">{definition}</bpmn:startEvent>\n<bpmn:endEvent id="end"/>\n'
            + flow("f1", "start", "end"))
    if valid:
        assert_valid(body)
    else:
        assert_rule(body, "bpmn_rule_ext098", "start")


def test_default_flow_leaves_its_gateway():
    body = (START_END + '<bpmn:exclusiveGateway id="gw" default="f1"/>\n<bpmn:task id="t"/>\n'
            + flow("f1", "start", "gw") + flow("f2", "gw", "t") + flow("f3", "gw", "end", "x &gt; 1")
            + flow("f4", "t", "end"))
    assert_rule(body, "bpmn_rule_ext026", "gw")
    assert_valid(body.replace('default="f1"', 'default="f2"'))


def test_converging_gateway_has_one_outgoing_flow():
    body = (START_END + '<bpmn:task id="a"/><bpmn:task id="b"/>\n'
            '<bpmn:parallelGateway id="gw" gatewayDirection="Converging"/>\n' + flow("f1", "start", "gw")
            + flow("f2", "gw", "a") + flow("f3", "gw", "b") + flow("f4", "a", "end") + flow("f5", "b", "end"))
    assert_rule(body, "bpmn_rule_ext017", "gw")
    assert_valid(body.replace("Converging", "Diverging"))


def test_references_name_the_right_kind_of_element():
    extra = '<bpmn:signal id="sig" name="sig"/>\n<bpmn:message id="msg" name="msg"/>\n'
    body = ('<bpmn:startEvent id="start"/>\n<bpmn:intermediateCatchEvent id="wait">'
            '<bpmn:messageEventDefinition id="def" messageRef="sig"/></bpmn:intermediateCatchEvent>\n'
            '<bpmn:endEvent id="end"/>\n' + flow("f1", "start", "wait") + flow("f2", "wait", "end"))
    assert_rule(body, "bpmn_rule_ref001", "def", extra=extra)
    assert_valid(body.replace('messageRef="sig"', 'messageRef="msg"'), extra=extra)


def test_token_quantities_are_at_least_one():
    body = START_END + '<bpmn:task id="t" startQuantity="0"/>\n' + flow("f1", "start", "t") + flow("f2", "t", "end")
    assert_rule(body, "bpmn_rule_ext037", "t")
    assert_valid(body.replace('startQuantity="0"', 'startQuantity="1"'))


def test_loop_settings_are_not_negative():
    body = (START_END + '<bpmn:task id="t"><bpmn:standardLoopCharacteristics loopMaximum="-1"/></bpmn:task>\n'
            + flow("f1", "start", "t") + flow("f2", "t", "end"))
    assert_rule(body, "bpmn_rule_loop001", "t")
    assert_valid(body.replace('loopMaximum="-1"', 'loopMaximum="3"'))


def test_collaboration_message_flows_connect_different_pools():
    collaboration = ('<bpmn:collaboration id="c"><bpmn:participant id="pool" processRef="test_process"/>'
                     '<bpmn:messageFlow id="mf" sourceRef="start" targetRef="end"/></bpmn:collaboration>\n')
    assert_rule(START_END + flow("f1", "start", "end"), "bpmn_rule_ext031", "mf", extra=collaboration)


def test_boundary_events_need_an_outgoing_flow():
    body = (START_END + '<bpmn:task id="t"/>\n<bpmn:boundaryEvent id="b" attachedToRef="t">'
            '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>'
            '</bpmn:boundaryEvent>\n' + flow("f1", "start", "t") + flow("f2", "t", "end"))
    assert_rule(body, "bpmn_rule_ext112", "b")
    assert_valid(body + flow("f3", "b", "end"))


def test_extension_elements_may_repeat_their_id_attributes_across_tasks() -> None:
    from bpmn import validate
    from tests.bpmn.xml import chain, model

    def service(task_id: str) -> str:
        return (f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>'
                f'<spiffworkflow:serviceTaskOperator id="core.echo" resultVariable="r_{task_id}">'
                '<spiffworkflow:parameters><spiffworkflow:parameter id="value" type="any" value="1"/>'
                '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>'
                '</bpmn:extensionElements></bpmn:serviceTask>')

    body = '<bpmn:startEvent id="start"/>' + service("a") + service("b") + '<bpmn:endEvent id="end"/>'
    report = validate(model(body + chain("start", "a", "b", "end")), operations={"core.echo"})

    assert report.ok, [p.as_dict() for p in report.problems]


def test_ext105_a_level_with_a_start_event_needs_an_end_event():
    assert_rule('<bpmn:startEvent id="start"/><bpmn:task id="t"/>' + flow("f", "start", "t"),
                "bpmn_rule_ext105", "test_process")
    assert_valid(START_END + flow("f", "start", "end"))


GLOBAL = ('<bpmn:itemDefinition id="text" structureRef="String"/>\n'
          '<bpmn:globalTask id="gt"><bpmn:ioSpecification><bpmn:dataInput id="gt_in" itemSubjectRef="text"/>'
          '<bpmn:inputSet><bpmn:dataInputRefs>gt_in</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet/>'
          '</bpmn:ioSpecification></bpmn:globalTask>\n')


def _call(inputs: int) -> str:
    data = "".join(f'<bpmn:dataInput id="in{i}" itemSubjectRef="text"/>' for i in range(inputs))
    refs = "".join(f"<bpmn:dataInputRefs>in{i}</bpmn:dataInputRefs>" for i in range(inputs))
    return (START_END + f'<bpmn:callActivity id="call" calledElement="gt"><bpmn:ioSpecification>{data}'
            f"<bpmn:inputSet>{refs}</bpmn:inputSet><bpmn:outputSet/></bpmn:ioSpecification></bpmn:callActivity>"
            + flow("f1", "start", "call") + flow("f2", "call", "end"))


def test_ext063_a_call_activity_has_the_data_inputs_of_what_it_calls():
    assert_rule(_call(2), "bpmn_rule_ext063", "call", extra=GLOBAL)
    assert not rule_problems(model(_call(1), extra=GLOBAL), "bpmn_rule_ext063")


def test_data_association_assignments_are_reported_as_not_run():
    body = (START_END + '<bpmn:task id="t"><bpmn:ioSpecification><bpmn:dataInput id="t_in"/><bpmn:inputSet>'
            "<bpmn:dataInputRefs>t_in</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet/></bpmn:ioSpecification>"
            '<bpmn:dataInputAssociation><bpmn:targetRef>t_in</bpmn:targetRef><bpmn:assignment>'
            '<bpmn:from>"x"</bpmn:from><bpmn:to>t_in</bpmn:to></bpmn:assignment></bpmn:dataInputAssociation></bpmn:task>'
            + flow("f1", "start", "t") + flow("f2", "t", "end"))
    report = validate(model(body))
    assert [(p.code, p.element_id) for p in report.errors][:1] == [("unsupported_element", "t")]


# --- timers (EXT.132-134): a formal timer text is a literal unless marked as an expression -------

_PLAIN_HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
                 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://x">\n')


def _plain_timer_model(kind: str, text: str, *, typed: bool = True):
    """A model in no engine dialect (no spiffworkflow namespace) waiting on one timer."""
    xsi = ' xsi:type="bpmn:tFormalExpression"' if typed else ""
    body = ('<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait">'
            '<bpmn:timerEventDefinition id="wait_timer">'
            f'<bpmn:{kind}{xsi}>{text}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="end"/>' + flow("f1", "start", "wait") + flow("f2", "wait", "end"))
    xml = f'{_PLAIN_HEADER}<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>\n'
    return ModelSource("p.bpmn", xml.encode())


@pytest.mark.parametrize(("kind", "code"), [("timeDate", "bpmn_rule_ext132"), ("timeCycle", "bpmn_rule_ext133"),
                                            ("timeDuration", "bpmn_rule_ext134")])
def test_a_formal_timer_text_that_is_no_iso_8601_literal_is_rejected(kind, code):
    (problem,) = rule_problems(_plain_timer_model(kind, "INVALID"), code)
    assert problem.element_id == "wait_timer" and "'INVALID'" in problem.message and "wait" in problem.message


@pytest.mark.parametrize(("kind", "text"), [("timeDate", "2026-12-01T09:00:00Z"), ("timeCycle", "R3/PT10M"),
                                            ("timeDuration", "PT4H"), ("timeDuration", '"PT4H"'),
                                            ("timeDuration", "${delay}"), ("timeDuration", "=delay")])
def test_formal_timer_literals_and_marked_expressions_are_accepted(kind, text):
    report = validate(_plain_timer_model(kind, text))
    assert not [p for p in report.problems if p.code.startswith("bpmn_rule_ext13")]


def test_untyped_and_spiffarena_timer_texts_stay_expressions():
    untyped = validate(_plain_timer_model("timeDuration", "reminder_delay", typed=False))
    assert not [p for p in untyped.problems if p.code == "bpmn_rule_ext134"]
    spiff_body = ('<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
                  '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression" '
                  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">reminder_delay</bpmn:timeDuration>'
                  '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
                  + flow("f1", "start", "wait") + flow("f2", "wait", "end"))
    assert_valid(spiff_body)  # tests.bpmn.xml models declare the spiffworkflow namespace
