"""Simulated regulator (SOAP 1.1, WSDL at `GET /sandbox/regulator/?wsdl`), acknowledging later.

`SubmitReport(reportId, period, file*{path, sha256})` -> `(submissionId, status="received")`; one
submission per report id (a repeated call returns it). After the knob `callback_delay` seconds the
sandbox posts `report_acknowledged` to Patchbay, correlated by `{"submission_id"}`, with
`{submission_id, status: "accepted"|"rejected", reason?}`. It is rejected with probability
`rejection_rate`, and always when no file is listed or a listed file that exists on this machine
does not have the stated SHA-256 (files in the local file drop only: the sandbox can check those).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from lxml import etree

from apps.sandbox import soap
from apps.sandbox.callbacks import message_send_later
from apps.sandbox.models import Submission, new_id
from apps.sandbox.web import chance, soap_system

NS = "urn:patchbay:sandbox:regulator"


@soap_system("regulator", NS, "regulator.wsdl")
def endpoint(request: HttpRequest, knobs: dict[str, Any], operation: etree._Element) -> HttpResponse:
    """`SubmitReport`, the only operation."""
    if soap.local_name(operation) != "SubmitReport":
        return soap.fault("Client", f"unknown operation {soap.local_name(operation)}", namespace=NS,
                          error_code="unknown_operation")
    report_id = soap.child_text(operation, "reportId")
    period = soap.child_text(operation, "period")
    files = [{"path": soap.child_text(f, "path"), "sha256": soap.child_text(f, "sha256")}
             for f in soap.children(operation, "file")]
    known = Submission.objects.filter(report_id=report_id).first()
    if known is None:
        known = _submission_create(report_id, period, files, knobs)
    return soap.respond(NS, "SubmitReportResponse", {"submissionId": known.submission_id, "status": "received"})


def _submission_create(report_id: str, period: str, files: list[dict[str, str]], knobs: dict[str, Any]) -> Submission:
    delay = float(knobs["callback_delay"])
    reason = _rejection_reason(files, float(knobs["rejection_rate"]))
    try:
        with transaction.atomic():
            row = Submission.objects.create(
                submission_id=new_id("sub"), report_id=report_id, period=period, files=files, status="received",
                final_status="rejected" if reason else "accepted", reason=reason,
                settles_at=timezone.now() + timedelta(seconds=delay),
            )
    except IntegrityError:  # the same report, concurrently: the first request sends the acknowledgement
        return Submission.objects.get(report_id=report_id)
    variables: dict[str, Any] = {"submission_id": row.submission_id, "status": row.final_status}
    if reason:
        variables["reason"] = reason
    message_send_later(name="report_acknowledged", correlation={"submission_id": row.submission_id},
                       variables=variables, delay=delay)
    return row


def _rejection_reason(files: list[dict[str, str]], rejection_rate: float) -> str:
    if not files:
        return "no_files"
    drop = Path(settings.PATCHBAY_FILE_DROP_DIR).resolve()
    for listed in files:
        path = Path(listed["path"]).resolve()
        # Only files in the local file drop are checked: a request must not make us read anything else.
        if not (path.is_relative_to(drop) and path.is_file()):
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != listed["sha256"].lower():
            return "checksum_mismatch"
    return "validation_failed" if chance(rejection_rate) else ""
