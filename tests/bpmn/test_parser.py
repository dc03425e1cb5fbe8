"""Compiling models into SpiffWorkflow specs: overrides, timers, several files, DMN, big models."""

from __future__ import annotations

import io
import itertools
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from bpmn.errors import InvalidModel
from bpmn.parser import CompiledModel, compile_model
from bpmn.specs import ParkedServiceTask
from bpmn.types import ModelSource

MODELS = Path(__file__).parent / "models"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'id="{key}_definitions" targetNamespace="http://patchbay.example/bpmn">\n')


def document(*processes: str, key: str = "doc") -> bytes:
    return (HEAD.format(key=key) + "\n".join(processes) + "\n</bpmn:definitions>\n").encode()


def process(key: str, body: str, *, executable: str | None = "true", name: str | None = None) -> str:
    attrs = f' isExecutable="{executable}"' if executable is not None else ""
    attrs += f' name="{name}"' if name else ""
    return f'<bpmn:process id="{key}"{attrs}>\n{body}\n</bpmn:process>'


def linear(*elements: tuple[str, str], prefix: str = "") -> str:
    """Elements (tag, id) joined in order by sequence flows, start and end added."""
    ids = [f"{prefix}start", *(element_id for _, element_id in elements), f"{prefix}end"]
    nodes = [f'<bpmn:startEvent id="{ids[0]}"/>', *(f'<bpmn:{tag} id="{i}"/>' for tag, i in elements),
             f'<bpmn:endEvent id="{ids[-1]}"/>']
    flows = [f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
             for a, b in itertools.pairwise(ids)]
    return "\n".join(nodes + flows)


def chain_model(size: int) -> ModelSource:
    """start -> task_0 -> ... -> task_{size-1} -> end, one script task per link."""
    lines = ['<bpmn:startEvent id="start"/>']
    previous = "start"
    for index in range(size):
        task = f"task_{index}"
        lines.append(f'<bpmn:sequenceFlow id="flow_{index}" sourceRef="{previous}" targetRef="{task}"/>')
        lines.append(f'<bpmn:scriptTask id="{task}"><bpmn:script>n = {index}</bpmn:script></bpmn:scriptTask>')
        previous = f"task_{index}"
    lines.append(f'<bpmn:sequenceFlow id="flow_end" sourceRef="{previous}" targetRef="end"/>')
    lines.append('<bpmn:endEvent id="end"/>')
    return ModelSource(f"chain_{size}.bpmn", document(process("chain", "\n".join(lines))))


def wide_model(width: int) -> ModelSource:
    """A parallel split into `width` branches of two tasks each, joined again."""
    lines = ['<bpmn:startEvent id="start"/>', '<bpmn:parallelGateway id="split"/>',
             '<bpmn:parallelGateway id="join"/>', '<bpmn:endEvent id="end"/>',
             '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="split"/>',
             '<bpmn:sequenceFlow id="f_end" sourceRef="join" targetRef="end"/>']
    for i in range(width):
        lines += [f'<bpmn:task id="a_{i}"/>', f'<bpmn:task id="b_{i}"/>',
                  f'<bpmn:sequenceFlow id="fa_{i}" sourceRef="split" targetRef="a_{i}"/>',
                  f'<bpmn:sequenceFlow id="fab_{i}" sourceRef="a_{i}" targetRef="b_{i}"/>',
                  f'<bpmn:sequenceFlow id="fb_{i}" sourceRef="b_{i}" targetRef="join"/>']
    return ModelSource("wide.bpmn", document(process("wide", "\n".join(lines))))


def zipped(files: dict[str, bytes]) -> ModelSource:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return ModelSource("model.zip", buffer.getvalue())


def example(name: str) -> ModelSource:
    return ModelSource(name, (MODELS / name).read_bytes())


def test_simple_model_compiles():
    compiled = compile_model(example("simple_script.bpmn"))
    assert isinstance(compiled, CompiledModel)
    assert (compiled.process_key, compiled.process_name) == ("simple_script", "Simple script")
    assert {"start", "set_x", "check_x", "end_positive"} <= set(compiled.spec.task_specs)
    assert compiled.subprocess_specs == {}
    assert compiled.element_lines["set_x"] == 12
    assert compiled.element_lines["flow_x_positive"] == 23


@pytest.mark.parametrize("name", ["simple_script.bpmn", "parallel.bpmn", "user_task.bpmn",
                                  "service_task.bpmn", "timer.bpmn", "message.bpmn"])
def test_example_models_compile(name):
    assert compile_model(example(name)).process_key == name.removesuffix(".bpmn")


def test_service_tasks_park():
    task = compile_model(example("service_task.bpmn")).spec.task_specs["call_echo"]
    assert isinstance(task, ParkedServiceTask)
    assert task.operation_name == "core.echo"
    assert task.operation_params == {"doubled": {"value": "amount * 2", "type": "any"}}
    assert task.result_variable == "echo"


def test_iso_timer_literals_are_quoted_and_expressions_kept():
    body = linear(("intermediateCatchEvent", "wait"), ("intermediateCatchEvent", "wait_var"))
    body = body.replace('<bpmn:intermediateCatchEvent id="wait"/>', (
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>PT4H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'))
    body = body.replace('<bpmn:intermediateCatchEvent id="wait_var"/>', (
        '<bpmn:intermediateCatchEvent id="wait_var"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>delay</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'))
    source = ModelSource("t.bpmn", document(process("timers", body)))
    specs = compile_model(source).spec.task_specs
    assert specs["wait"].event_definition.expression == "'PT4H'"
    assert specs["wait_var"].event_definition.expression == "delay"
    assert b"<bpmn:timeDuration>PT4H</bpmn:timeDuration>" in source.content  # the upload is untouched


def test_message_model_keeps_its_correlation():
    definition = compile_model(example("message.bpmn")).spec.task_specs["await_payment"].event_definition
    assert definition.name == "payment_confirmed"
    properties = [(p.name, p.retrieval_expression) for p in definition.correlation_properties]
    assert properties == [("order_id", "order_id")]


def test_call_activity_across_files_of_a_zip():
    main = document(process("main", linear(("callActivity", "call_sub")), name="Main"), key="main")
    main = main.replace(b'<bpmn:callActivity id="call_sub"/>',
                        b'<bpmn:callActivity id="call_sub" calledElement="sub_process"/>')
    sub = document(process("sub_process", linear(("task", "inner"))), key="sub")
    compiled = compile_model(zipped({"sub.bpmn": sub, "main.bpmn": main}))
    assert compiled.process_key == "main"  # the process nobody calls, wherever it is in the archive
    assert compiled.process_name == "Main"
    assert set(compiled.subprocess_specs) == {"sub_process"}
    assert "inner" in compiled.subprocess_specs["sub_process"].task_specs
    assert "inner" in compiled.element_lines


def test_business_rule_task_finds_its_decision_in_a_dmn_file():
    body = linear(("businessRuleTask", "decide")).replace(
        '<bpmn:businessRuleTask id="decide"/>',
        '<bpmn:businessRuleTask id="decide"><bpmn:extensionElements>'
        '<spiffworkflow:calledDecisionId>discount</spiffworkflow:calledDecisionId>'
        '</bpmn:extensionElements></bpmn:businessRuleTask>')
    dmn = (MODELS / "discount.dmn").read_bytes()
    source = zipped({"p.bpmn": document(process("rules", body)), "discount.dmn": dmn})
    compiled = compile_model(source)
    assert compiled.spec.task_specs["decide"].dmnEngine is not None


def test_missing_decision_is_invalid():
    body = linear(("businessRuleTask", "decide")).replace(
        '<bpmn:businessRuleTask id="decide"/>',
        '<bpmn:businessRuleTask id="decide"><bpmn:extensionElements>'
        '<spiffworkflow:calledDecisionId>nowhere</spiffworkflow:calledDecisionId>'
        '</bpmn:extensionElements></bpmn:businessRuleTask>')
    with pytest.raises(InvalidModel) as info:
        compile_model(ModelSource("p.bpmn", document(process("rules", body))))
    [problem] = info.value.problems
    assert (problem.code, problem.element_id, problem.line) == ("parse_error", "decide", 5)
    assert "nowhere" in problem.message


def test_several_executable_processes_pick_the_uncalled_one():
    caller = process("caller", linear(("callActivity", "call"))).replace(
        '<bpmn:callActivity id="call"/>', '<bpmn:callActivity id="call" calledElement="callee"/>')
    callee = process("callee", linear(("task", "work"), prefix="callee_"))
    assert compile_model(ModelSource("m.bpmn", document(callee, caller))).process_key == "caller"


def test_non_executable_processes_are_not_candidates():
    other = process("pool", linear(prefix="pool_"), executable="false")
    source = ModelSource("m.bpmn", document(other, process("real", linear())))
    assert compile_model(source).process_key == "real"


def test_no_executable_process():
    with pytest.raises(InvalidModel) as info:
        compile_model(ModelSource("m.bpmn", document(process("pool", linear(), executable="false"))))
    assert [p.code for p in info.value.problems] == ["no_executable_process"]


def test_stock_spiffworkflow_overflows_on_long_chains():
    # Why the parser runs SpiffWorkflow on a deep stack: its recursion per sequence flow.
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(chain_model(1_200).content)
    with pytest.raises(Exception, match="recursion"):
        parser.get_spec("chain")


@pytest.mark.parametrize("size", [1_200, 3_000])
def test_long_chains_compile(size):
    limit = sys.getrecursionlimit()
    compiled = compile_model(chain_model(size))
    assert {f"task_{i}" for i in range(size)} <= set(compiled.spec.task_specs)
    assert compiled.spec.task_specs[f"task_{size - 1}"].inputs[0].name == f"task_{size - 2}"
    assert sys.getrecursionlimit() == limit  # the raised limit is undone


def test_wide_model_compiles():
    compiled = compile_model(wide_model(600))
    assert len(compiled.spec.task_specs["split"].outputs) == 600


def test_compile_is_deterministic_and_thread_safe():
    source = chain_model(600)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: compile_model(source), range(4)))
    assert len({tuple(r.spec.task_specs) for r in results}) == 1
    assert len({tuple(sorted(r.element_lines.items())) for r in results}) == 1


def test_broken_xml_is_invalid():
    with pytest.raises(InvalidModel) as info:
        compile_model(ModelSource("m.bpmn", b"<bpmn:definitions"))
    assert info.value.problems[0].code == "malformed_xml"
