"""The betsy token adapter: gives script tokens and Java-style conditions their meaning, nothing more.

betsy's models hold a *token* in each script task instead of code, and write conditions in Java
syntax. The adapter rewrites those texts (and only texts: no element, attribute or flow of the model
changes) into Patchbay's expression language, exactly as betsy's per-engine XSLT does for Camunda or
jBPM. Which tokens were logged is then read from the engine's own audit: a script task holding
`SCRIPT_task1` that completed means "SCRIPT_task1 was logged". Reading the audit rather than a trace
variable matters because SpiffWorkflow gives each parallel branch its own copy of the data and a join
keeps one of them, so a trace list in data would lose entries on every join.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from bpmn.expressions import FUNCTIONS
from bpmn.loading import parse_xml
from bpmn.parser import BPMN_NS

ERROR_CODE = "ERR_CODE"
# Curated functions the engine layer may offer for throwing a BPMN error from a script, in order of
# preference; the first one present is used (see `_throw_error_script`).
_THROW_FUNCTIONS = ("raise_bpmn_error", "throw_bpmn_error", "bpmn_error")
# Texts holding a condition or expression written Java-style.
_CONDITION_TAGS = ("conditionExpression", "loopCondition", "completionCondition", "activationCondition",
                   "loopCardinality", "condition")
_SCRIPT_TAGS = ("script",)
_LOOP_TAGS = ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")
# What each token does when its script task runs (the trace entry comes from the audit, see module doc).
_SCRIPTS = {
    "CREATE_LOG_FILE": "pass",
    "CREATE_MARKER_FILE": "marker_created = True",
    "INCREMENT_INTEGER_VARIABLE": "integerVariable = integerVariable + 1",
    "INCREMENT_INTEGER_VARIABLE_AND_LOG": "integerVariable = integerVariable + 1",
    "SET_STRING_DATA": 'data = "String"',
    # `data == str(data)` holds only for text: the checker's "the logged value is a String".
    "LOG_DATA": "logged_data_is_string = data == str(data)",
    "CREATE_TIMESTAMP_LOG_1": "pass",
    "CREATE_TIMESTAMP_LOG_2": "pass",
    "WAIT_TEN_SECONDS": "pass",
}
_SCRIPT_TOKEN = re.compile(r"SCRIPT_task\d+")
# Java-style condition syntax -> the expression language (applied in order).
_CONDITION_REWRITES = (
    (re.compile(r"\$\{([^}]*)\}"), r"\1"),
    (re.compile(r"""(\w+)\.contains\(\s*("[^"]*"|'[^']*')\s*\)"""), r"(\2 in \1)"),
    (re.compile(r"&&"), " and "),
    (re.compile(r"\|\|"), " or "),
    (re.compile(r"!(?!=)"), " not "),
    (re.compile(r"\btrue\b"), "True"),
    (re.compile(r"\bfalse\b"), "False"),
)
# Virtual seconds a token's script takes (betsy's tasks busy-wait for real).
TOKEN_SECONDS = {"WAIT_TEN_SECONDS": 10, "CREATE_TIMESTAMP_LOG_1": 10, "CREATE_TIMESTAMP_LOG_2": 10}


@dataclass
class AdaptedModel:
    """A betsy model with its texts translated, plus the token of every script task by element id."""

    content: bytes
    tokens: dict[str, str] = field(default_factory=dict)
    looped: set[str] = field(default_factory=set)  # activities with loop or multi-instance markers
    rewrites: int = 0


def translate_condition(text: str) -> str:
    """`test.contains("a") && !x` -> `("a" in test) and  not x`; `${integerVariable}` -> `integerVariable`."""
    result = text.strip()
    for pattern, replacement in _CONDITION_REWRITES:
        result = pattern.sub(replacement, result)
    return " ".join(result.split())


def token_script(word: str) -> str:
    """The expression-language script that gives a betsy token its meaning."""
    if _SCRIPT_TOKEN.fullmatch(word):
        return "pass"
    if word == "THROW_ERROR":
        return _throw_error_script()
    return _SCRIPTS.get(word, word)  # unknown text stays as written: the engine judges it


def _throw_error_script() -> str:
    for name in _THROW_FUNCTIONS:
        if name in FUNCTIONS:
            return f'{name}("{ERROR_CODE}")'
    # No way to throw a BPMN error from a script yet: the call names the missing capability, and
    # validation rejects it (the test fails honestly instead of pretending).
    return f'{_THROW_FUNCTIONS[0]}("{ERROR_CODE}")'


def adapt(content: bytes, filename: str) -> AdaptedModel:
    """Translate the token and condition texts of one betsy model; the structure is left as it is."""
    tree = parse_xml(content, filename)
    adapted = AdaptedModel(content=b"")
    for element in tree.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in _LOOP_TAGS and element.getparent() is not None:
            adapted.looped.add(str(element.getparent().get("id")))
        if tag in _SCRIPT_TAGS and element.text and element.text.strip():
            word = element.text.strip()
            owner = element.getparent()
            if owner is not None and owner.get("id"):
                adapted.tokens[owner.get("id")] = word
            element.text = token_script(word)
            adapted.rewrites += 1
        elif tag in _CONDITION_TAGS and element.text and element.text.strip():
            element.text = translate_condition(element.text)
            adapted.rewrites += 1
    adapted.content = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return adapted


def process_ids(content: bytes, filename: str) -> list[str]:
    """Ids of the top-level processes of a model, in document order."""
    tree = parse_xml(content, filename)
    return [str(p.get("id")) for p in tree.getroot() if isinstance(p.tag, str) and p.tag == f"{{{BPMN_NS}}}process"]


def only_executable(content: bytes, filename: str, process_id: str) -> bytes:
    """The same model deployed for one of its processes: the other pools are marked non-executable.

    Patchbay deploys one executable process per definition (as Camunda deploys each process of a
    file under its own key); this is that deployment for `process_id`. No flow or element changes.
    """
    tree = parse_xml(content, filename)
    for process in tree.getroot():
        if isinstance(process.tag, str) and process.tag == f"{{{BPMN_NS}}}process":
            process.set("isExecutable", "true" if process.get("id") == process_id else "false")
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
