"""Closing SpiffWorkflow 3.2.0's BPMN gaps without forking it.

Two tools, used in this order of preference:
- `rewrite`: pre-transforms of the (hardened, already parsed) lxml tree before SpiffWorkflow sees it,
  for constructs that are plain structure under another name (link events, definitions-level event
  definitions, global tasks, implicit splits out of activities, ad-hoc sub-processes);
- `specs` / `parsers`: task spec and parser subclasses registered in `PatchbayParser`, for
  constructs with run-time behaviour SpiffWorkflow lacks or gets wrong.

Every element a rewrite adds has `SYNTHETIC` in its id; `bpmn.harvest` hides such elements from
audit trails and active activities, so callers only ever see the analyst's own element ids.
"""

from bpmn.semantics.rewrite import SYNTHETIC, is_synthetic, rewrite_semantics

__all__ = ["SYNTHETIC", "is_synthetic", "rewrite_semantics"]
