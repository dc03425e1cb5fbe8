"""The betsy adapter translates texts only: tokens into scripts, Java-style conditions into ours."""

from __future__ import annotations

from bpmn.conformance import adapter
from bpmn.expressions import check_expression, check_script
from tests.bpmn.xml import flow, model


def test_java_conditions_become_expressions():
    assert adapter.translate_condition('test.contains("a")') == '("a" in test)'
    assert adapter.translate_condition('!test.contains("a") && x || y') == 'not ("a" in test) and x or y'
    assert adapter.translate_condition("${integerVariable}") == "integerVariable"
    assert adapter.translate_condition("integerVariable<3") == "integerVariable<3"
    assert adapter.translate_condition("a != b") == "a != b"
    for text in ('test.contains("a")', '!test.contains("b")', "${integerVariable}", "true", "activationCount >= 1"):
        assert check_expression(adapter.translate_condition(text)) == []


def test_tokens_become_scripts_of_the_expression_language():
    for token in ("SCRIPT_task1", "CREATE_LOG_FILE", "CREATE_MARKER_FILE", "INCREMENT_INTEGER_VARIABLE",
                  "INCREMENT_INTEGER_VARIABLE_AND_LOG", "SET_STRING_DATA", "LOG_DATA", "WAIT_TEN_SECONDS"):
        assert check_script(adapter.token_script(token)) == [], token


def test_adapt_rewrites_texts_and_keeps_the_structure():
    body = "\n".join([
        '<bpmn:startEvent id="start"/>',
        '<bpmn:scriptTask id="task1"><bpmn:script>SCRIPT_task1</bpmn:script></bpmn:scriptTask>',
        flow("f1", "start", "task1", 'test.contains("a")'),
    ])
    source = model(body)
    adapted = adapter.adapt(source.content, source.filename)
    assert adapted.tokens == {"task1": "SCRIPT_task1"}
    assert b'("a" in test)' in adapted.content and b"<bpmn:script>pass</bpmn:script>" in adapted.content
    assert adapted.content.count(b"<bpmn:") == source.content.count(b"<bpmn:")
