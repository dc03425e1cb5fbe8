"""`files.write_extract` and `files.archive` into the local file drop."""

from __future__ import annotations

import csv
import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from apps.integrations.contract import ConnectorError
from apps.integrations.files.connector import FilesConnector
from apps.integrations.files.extracts import period_days
from tests.apps.sandbox.kit import context


@pytest.fixture
def drop(settings: Any, tmp_path: Path) -> Path:
    settings.PATCHBAY_FILE_DROP_DIR = tmp_path / "drop"
    return tmp_path / "drop"


def write(period: str, kind: str, fmt: str) -> dict[str, Any]:
    return dict(FilesConnector().call("write_extract", {"period": period, "kind": kind, "format": fmt},
                                      context("files.write_extract")))


def test_a_csv_extract_is_realistic_and_the_same_bytes_every_time(drop: Path) -> None:
    first = write("2026-10", "usage", "csv")
    again = write("2026-10", "usage", "csv")

    assert first == again
    path = Path(first["path"])
    assert path == drop / "2026-10" / "usage_2026-10.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first["sha256"]
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == first["rows"] == 31 * 6
    assert all("2026-10-01" <= row["day"] <= "2026-10-31" for row in rows)
    assert {row["service"] for row in rows} <= {"voice", "sms", "data", "roaming_data"}


def test_an_xml_billing_extract_of_a_quarter(drop: Path) -> None:
    written = write("2026-Q4", "billing", "xml")
    root = etree.parse(written["path"]).getroot()
    assert (root.tag, root.get("kind"), root.get("rows")) == ("extract", "billing", str(written["rows"]))
    assert {r.findtext("issued_on") for r in root} == {"2026-12-31"}
    assert period_days("2026-Q1")[1].isoformat() == "2026-03-31"


def test_archive_zips_files_of_the_drop_reproducibly_and_refuses_others(drop: Path, tmp_path: Path) -> None:
    paths = [write("2026-10", "usage", "csv")["path"], write("2026-10", "billing", "xml")["path"]]
    files = FilesConnector()

    first = files.call("archive", {"paths": paths, "report_id": "R-1"}, context("files.archive"))
    again = files.call("archive", {"paths": paths, "report_id": "R-1"}, context("files.archive"))

    assert first == again and first["archive_path"] == str(drop / "archives" / "R-1.zip")
    with zipfile.ZipFile(first["archive_path"]) as archive:
        assert sorted(archive.namelist()) == ["2026-10/billing_2026-10.xml", "2026-10/usage_2026-10.csv"]
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    for sneaky in (str(outside), str(drop / ".." / "secret.txt")):
        with pytest.raises(ConnectorError) as refused:
            files.call("archive", {"paths": [sneaky], "report_id": "R-2"}, context("files.archive"))
        assert refused.value.retryable is False
