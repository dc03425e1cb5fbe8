"""The file drop: a local directory (`PATCHBAY_FILE_DROP_DIR`) that reporting extracts go to.

* `files.write_extract` `{period, kind: "usage"|"billing", format: "csv"|"xml"}` -> `{path, rows, sha256}`:
  synthetic data of the period (extracts.py) written to `<drop>/<period>/<kind>_<period>.<format>`.
* `files.archive` `{paths: [...], report_id}` -> `{archive_path, sha256}`: a zip of those files at
  `<drop>/archives/<report_id>.zip`.
Both write to a temporary file and rename it, so a reader never sees half a file, and produce the
same bytes for the same input (fixed zip timestamps), so retries are harmless. Paths given to
`archive` must lie inside the drop: a model cannot make a worker read other files. Errors of the
file system (disk full, ...) are retryable.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from lxml import etree

from apps.integrations.contract import CallContext, Connector, ConnectorError, OperationSpec, RetryPolicy
from apps.integrations.files.extracts import PERIOD_PATTERN, rows_of

EXTRACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["period", "kind"],
    "properties": {"period": {"type": "string", "pattern": PERIOD_PATTERN},
                   "kind": {"enum": ["usage", "billing"]}, "format": {"enum": ["csv", "xml"]}},
}
ARCHIVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["paths", "report_id"],
    "properties": {"paths": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                   "report_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"}},
}
RETRY = RetryPolicy(max_attempts=3, base_delay=5.0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def drop_dir() -> Path:
    """The file drop directory, created when missing."""
    path = Path(settings.PATCHBAY_FILE_DROP_DIR).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


class FilesConnector(Connector):
    """Writes into the local file drop; no network."""

    system = "files"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "write_extract": OperationSpec(EXTRACT_SCHEMA, timeout=60.0, retry=RETRY,
                                       description="Write the period's usage or billing extract; "
                                       "result `{path, rows, sha256}`."),
        "archive": OperationSpec(ARCHIVE_SCHEMA, timeout=60.0, retry=RETRY,
                                 description="Zip files of the drop; result `{archive_path, sha256}`."),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Write the extract or the archive."""
        try:
            if operation == "write_extract":
                return extract_write(parameters["period"], parameters["kind"], parameters.get("format", "csv"))
            return archive_write(parameters["paths"], parameters["report_id"])
        except OSError as exc:
            raise ConnectorError(f"files.{operation}: {exc}", retryable=True) from exc


def extract_write(period: str, kind: str, fmt: str) -> dict[str, Any]:
    """Write the extract file and describe it."""
    columns, rows = rows_of(kind, period)
    content = _csv(columns, rows) if fmt == "csv" else _xml(kind, period, columns, rows)
    target = drop_dir() / period / f"{kind}_{period}.{fmt}"
    _write_atomically(target, content)
    return {"path": str(target), "rows": len(rows), "sha256": hashlib.sha256(content).hexdigest()}


def archive_write(paths: list[str], report_id: str) -> dict[str, Any]:
    """Zip the files (which must be in the drop) into `archives/<report_id>.zip`."""
    drop = drop_dir()
    members = []
    for raw in paths:
        path = Path(raw).resolve()
        if not path.is_relative_to(drop) or not path.is_file():
            raise ConnectorError(f"files.archive: {raw} is not a file in the file drop", retryable=False)
        members.append(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in members:
            info = zipfile.ZipInfo(str(path.relative_to(drop)), date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    content = buffer.getvalue()
    target = drop / "archives" / f"{report_id}.zip"
    _write_atomically(target, content)
    return {"archive_path": str(target), "sha256": hashlib.sha256(content).hexdigest()}


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _xml(kind: str, period: str, columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    root = etree.Element("extract", kind=kind, period=period, rows=str(len(rows)))
    for row in rows:
        record = etree.SubElement(root, "record")
        for column in columns:
            etree.SubElement(record, column).text = row[column]
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
