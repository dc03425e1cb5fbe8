"""Turning process folders into uploads, and uploads back into the BPMN file a person reads.

Both directions are pure file handling (no database): the management command packs a folder into
the same bytes every time, and the API finds the main `.bpmn` inside a zip upload.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from bpmn.errors import InvalidModel
from bpmn.loading import file_kind, parse_xml, read_files
from bpmn.types import ModelSource

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DEPLOYABLE_SUFFIXES = frozenset({".bpmn", ".dmn", ".json"})
# Fixed metadata so packing the same files twice yields the same bytes, hence the same content hash
# and no new version. 1980-01-01 is the earliest time a zip header can hold.
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o100644 << 16
_ZIP_UNIX = 3


def deployable_files(folder: Path) -> list[Path]:
    """The model files of a process folder (`.bpmn`, `.dmn`, `.json`, in subfolders too), sorted.

    Hidden files and folders are left out, so editor and VCS droppings never change the hash.
    """
    found = [
        path for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in DEPLOYABLE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def pack_folder(folder: Path) -> ModelSource | None:
    """The upload for a process folder: its single `.bpmn` as is, or a deterministic zip of its files.

    Returns None when the folder holds no `.bpmn` at all (nothing to deploy).
    """
    files = deployable_files(folder)
    if not any(path.suffix.lower() == ".bpmn" for path in files):
        return None
    if len(files) == 1:
        return ModelSource(filename=files[0].name, content=files[0].read_bytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = _ZIP_FILE_MODE
            info.create_system = _ZIP_UNIX
            archive.writestr(info, path.read_bytes())
    return ModelSource(filename=f"{folder.name}.zip", content=buffer.getvalue())


def main_bpmn(source: ModelSource, *, key: str) -> bytes | None:
    """The BPMN file holding the executable process `key`: the upload itself, or the zip member.

    Zip members are read and parsed by the engine layer's hardened loader (bounded reads, no DTD, no
    entities, no network), the same code that validated the upload. Returns None when no file
    defines the process.
    """
    files = read_files(source)
    if len(files) == 1 and not source.filename.lower().endswith(".zip"):
        return next(iter(files.values()))
    for name in sorted(files):
        if file_kind(name) == "bpmn" and _defines_process(files[name], name=name, key=key):
            return files[name]
    return None


def _defines_process(content: bytes, *, name: str, key: str) -> bool:
    """True when this XML holds a `<process id="key">` (False for anything unparsable)."""
    try:
        tree = parse_xml(content, name)
    except InvalidModel:
        return False
    return any(el.get("id") == key for el in tree.getroot().iter(f"{{{BPMN_NS}}}process"))
