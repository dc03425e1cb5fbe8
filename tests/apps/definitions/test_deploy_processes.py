"""manage.py deploy_processes: every shipped folder, idempotent, deterministic zips, loud on errors."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.definitions.models import ProcessDefinition
from apps.definitions.packaging import pack_folder
from tests.apps.definitions.samples import bpmn_model, invalid_model


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("deploy_processes", *args, stdout=out)
    return out.getvalue()


def test_the_shipped_processes_deploy_and_a_second_run_creates_nothing(db):
    first = run()
    count = ProcessDefinition.objects.count()

    second = run()

    assert "hello_world: deployed hello_world v1" in first
    assert count == len([p for p in Path(settings.PROCESSES_DIR).iterdir() if p.is_dir()])
    assert "deployed" not in second
    assert "hello_world: unchanged (hello_world v1)" in second
    assert ProcessDefinition.objects.count() == count


def test_a_folder_of_several_files_is_packed_into_the_same_zip_every_time(tmp_path, db):
    folder = tmp_path / "bundle"
    (folder / "forms").mkdir(parents=True)
    (folder / "bundle.bpmn").write_bytes(bpmn_model("bundle"))
    (folder / "forms" / "review.json").write_text('{"type": "object"}')
    (folder / "README.md").write_text("not deployed")
    (folder / ".hidden.bpmn").write_text("editor backup")

    first = pack_folder(folder)
    (folder / "bundle.bpmn").touch()  # a newer mtime must not change the bytes
    second = pack_folder(folder)

    assert first is not None and second is not None
    assert first.filename == "bundle.zip"
    assert first.content == second.content
    names = zipfile.ZipFile(io.BytesIO(first.content)).namelist()
    assert names == ["bundle.bpmn", "forms/review.json"]
    run("--dir", str(tmp_path))
    assert "bundle: unchanged" in run("--dir", str(tmp_path))
    assert ProcessDefinition.objects.get().filename == "bundle.zip"


def test_a_folder_with_one_bpmn_is_uploaded_as_that_file(tmp_path):
    (tmp_path / "single").mkdir()
    (tmp_path / "single" / "single.bpmn").write_bytes(bpmn_model("single"))
    (tmp_path / "single" / "README.md").write_text("docs")

    source = pack_folder(tmp_path / "single")

    assert source is not None
    assert source.filename == "single.bpmn"
    assert source.content == bpmn_model("single")


def test_an_invalid_folder_is_reported_and_the_command_fails(tmp_path, db):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "good.bpmn").write_bytes(bpmn_model("good"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "broken.bpmn").write_bytes(invalid_model())
    out = io.StringIO()

    with pytest.raises(CommandError, match="broken"):
        call_command("deploy_processes", "--dir", str(tmp_path), stdout=out)

    assert "broken: invalid" in out.getvalue()
    assert "element_id do_work" in out.getvalue()
    assert list(ProcessDefinition.objects.values_list("key", flat=True)) == ["good"]


def test_a_folder_without_a_model_is_skipped(tmp_path, db):
    (tmp_path / "docs_only").mkdir()
    (tmp_path / "docs_only" / "README.md").write_text("nothing to deploy")

    assert "docs_only: skipped" in run("--dir", str(tmp_path))


def test_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="not a directory"):
        run("--dir", str(tmp_path / "nope"))
