"""Models saved by other modelers: Camunda 7 (`camunda:`), Camunda 8 (`zeebe:`) and SpiffArena.

`translate_dialects(tree, file)` rewrites one BPMN tree in place, before SpiffWorkflow sees it, into
the spiffworkflow extensions and expression language Patchbay runs, and returns a
`unsupported_dialect_feature` problem for everything that has no meaning here (Java delegates,
Groovy/JavaScript scripts, FEEL functions...), naming the element. SpiffArena models need nothing:
Patchbay's parser is SpiffWorkflow's spiff-extension parser.
"""

from __future__ import annotations

from typing import Any

from bpmn.dialects import camunda7, zeebe
from bpmn.dialects.common import Findings
from bpmn.types import Problem


def translate_dialects(tree: Any, file: str | None = None) -> list[Problem]:
    """Translate Camunda 7 and Camunda 8 extensions of one tree; the problems of what does not map."""
    findings = Findings(file)
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    declared = declared_namespaces(root)
    if camunda7.NS in declared:
        camunda7.translate(root, findings)
    if zeebe.NS in declared:
        zeebe.translate(root, findings)
    return findings.problems


def declared_namespaces(root: Any) -> frozenset[str]:
    """Every namespace a document declares: on its root, or below it (rare, but legal)."""
    return frozenset(uri for element in root.iter() if isinstance(element.tag, str)
                     for uri in (element.nsmap or {}).values())


__all__ = ["declared_namespaces", "translate_dialects"]
