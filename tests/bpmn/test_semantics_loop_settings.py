"""Loop settings that cannot run are rejected at upload (`bpmn.constraints.loop_settings`)."""

from __future__ import annotations

import pytest

from bpmn import validate
from tests.bpmn.xml import chain, model

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


def _codes(task: str) -> set[str]:
    report = validate(model(f"{START}{task}{END}{chain('start', 'work', 'end')}"))
    return {p.code for p in report.errors}


@pytest.mark.parametrize(("loop", "code"), [
    ('<bpmn:standardLoopCharacteristics loopMaximum="three"/>', "schema_error"),  # the XSD catches it first
    ('<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2.5</bpmn:loopCardinality>'
     '</bpmn:multiInstanceLoopCharacteristics>', "bpmn_rule_loop003"),
    ('<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>"two"</bpmn:loopCardinality>'
     '</bpmn:multiInstanceLoopCharacteristics>', "bpmn_rule_loop003"),
    ("<bpmn:multiInstanceLoopCharacteristics/>", "bpmn_rule_loop004"),
    ('<bpmn:multiInstanceLoopCharacteristics behavior="Sometimes"><bpmn:loopCardinality>2</bpmn:loopCardinality>'
     '</bpmn:multiInstanceLoopCharacteristics>', "schema_error"),
])
def test_invalid_loop_settings_are_rejected(loop: str, code: str) -> None:
    assert code in _codes(f'<bpmn:task id="work">{loop}</bpmn:task>')


def test_valid_loop_settings_pass() -> None:
    loop = ('<bpmn:multiInstanceLoopCharacteristics isSequential="true" behavior="All">'
            "<bpmn:loopCardinality>n + 1</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>")
    assert _codes(f'<bpmn:task id="work">{loop}</bpmn:task>') == set()
    assert _codes('<bpmn:task id="work"><bpmn:standardLoopCharacteristics loopMaximum="3"/></bpmn:task>') == set()
