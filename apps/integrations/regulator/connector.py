"""`regulator.submit_report` `{report_id, period, files: [{path, sha256}]}` -> `{submission_id, status}`.

Over SOAP (zeep, WSDL from the configured URL). The regulator keeps one submission per report id, so
a retry returns the same submission. Its verdict comes later as the message `report_acknowledged`
correlated by `submission_id`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from apps.integrations.contract import CallContext, Connector, OperationSpec, RetryPolicy
from apps.integrations.http.rest import fields
from apps.integrations.http.soap import soap_call

_TEXT = {"type": "string", "minLength": 1}
SUBMIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["report_id", "period", "files"],
    "properties": {
        "report_id": _TEXT,
        "period": _TEXT,
        "files": {
            "type": "array",
            "items": {"type": "object", "required": ["path", "sha256"],
                      "properties": {"path": _TEXT, "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}},
        },
    },
}


class RegulatorConnector(Connector):
    """The regulator's SOAP reporting service."""

    system = "regulator"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "submit_report": OperationSpec(
            SUBMIT_SCHEMA, timeout=30.0, retry=RetryPolicy(max_attempts=8, base_delay=5.0, max_delay=300.0),
            description="Submit a report; result `{submission_id, status: received}`; "
            "the verdict arrives later as message `report_acknowledged`.",
        ),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Submit the report with its file list."""
        files = [{"path": f["path"], "sha256": f["sha256"].lower()} for f in parameters["files"]]
        answer = soap_call("regulator", "SubmitReport", context=context, reportId=parameters["report_id"],
                           period=parameters["period"], file=files)
        found = fields("regulator", answer, "submissionId", "status")
        return {"submission_id": found["submissionId"], "status": found["status"]}
