"""Hardened input: reading uploads and parsing their XML before anything else looks at them.

Uploaded models are untrusted. Nothing here follows a DTD, an entity, a URL or a path from the input,
and every size is capped *while* reading (archive headers and XML declarations are never trusted).
Every problem becomes a `Problem`; `InvalidModel` carries all that were found, not just the first.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree

from bpmn.errors import InvalidModel
from bpmn.types import ModelSource, Problem

MiB = 1024 * 1024
MAX_UPLOAD_BYTES = 20 * MiB  # the upload as sent (a zip is compressed, so this also bounds its index)
MAX_TOTAL_BYTES = 20 * MiB  # everything a zip expands to
MAX_FILE_BYTES = 10 * MiB  # any one file, zipped or not
MAX_MEMBERS = 200
MAX_RATIO = 100  # expansion ratio beyond which a large member is treated as a zip bomb
RATIO_FLOOR = 1 * MiB  # small members may compress very well without being a threat
MAX_DEPTH = 200
MAX_ELEMENTS = 50_000
_CHUNK = 64 * 1024

FileKind = Literal["bpmn", "dmn", "form"]
_KINDS: dict[str, FileKind] = {".bpmn": "bpmn", ".xml": "bpmn", ".dmn": "dmn", ".json": "form"}
_ZIP_KINDS = (".bpmn", ".dmn", ".json")
# `<!DOCTYPE` or `<!ENTITY` anywhere; NULs are removed first so UTF-16/32 text cannot hide them.
_DTD_MARKUP = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)")


@dataclass
class Documents:
    """The parsed files of one upload: BPMN and DMN trees by file name, plus the raw files."""

    files: dict[str, bytes]
    bpmn: dict[str, Any] = field(default_factory=dict)  # name -> lxml ElementTree
    dmn: dict[str, Any] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


def file_kind(name: str) -> FileKind | None:
    """What a file of an upload is, by its extension (`None`: not part of a model)."""
    lower = name.lower()
    for ext, kind in _KINDS.items():
        if lower.endswith(ext):
            return kind
    return None


def read_files(source: ModelSource, *, warnings: list[Problem] | None = None) -> dict[str, bytes]:
    """The files of an upload by name: one `.bpmn`/`.xml` file, or the model files of a `.zip`.

    Raises `InvalidModel` listing every problem; ignored zip members are appended to `warnings`.
    """
    name = re.split(r"[\\/]", source.filename)[-1]
    if len(source.content) > MAX_UPLOAD_BYTES:
        raise InvalidModel([_problem("too_large", f"the upload exceeds {MAX_UPLOAD_BYTES // MiB} MB", name)])
    lower = name.lower()
    if lower.endswith(".zip"):
        return _read_zip(source.content, name, warnings if warnings is not None else [])
    if lower.endswith((".bpmn", ".xml")):
        if len(source.content) > MAX_FILE_BYTES:
            raise InvalidModel([_problem("too_large", f"the file exceeds {MAX_FILE_BYTES // MiB} MB", name)])
        return {name: source.content}
    raise InvalidModel([_problem(
        "unsupported_file", "upload a .bpmn file, or a .zip of .bpmn, .dmn and form (.json) files", name,
    )])


def _read_zip(content: bytes, name: str, warnings: list[Problem]) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise InvalidModel([_problem("bad_archive", f"not a readable zip archive: {exc}", name)]) from exc
    if len(members) > MAX_MEMBERS:
        message = f"the archive holds more than {MAX_MEMBERS} entries"
        raise InvalidModel([_problem("bad_archive", message, name)])
    problems: list[Problem] = []
    wanted = []
    for info in members:
        reason = _member_problem(info)
        if reason:
            problems.append(_problem("bad_archive", reason, info.filename))
        elif not info.is_dir() and not _is_os_junk(info.filename):
            if info.filename.lower().endswith(_ZIP_KINDS):
                wanted.append(info)
            else:
                warnings.append(_problem("ignored_file", "not a .bpmn, .dmn or .json file; ignored",
                                         info.filename, severity="warning"))
    declared = sum(info.file_size for info in wanted)
    if declared > MAX_TOTAL_BYTES:
        message = f"the archive expands beyond {MAX_TOTAL_BYTES // MiB} MB"
        problems.append(_problem("bad_archive", message, name))
    if problems:
        raise InvalidModel(problems)
    files = _extract(archive, wanted, name)
    if not any(file_kind(n) == "bpmn" for n in files):
        raise InvalidModel([_problem("bad_archive", "the archive holds no .bpmn file", name)])
    return files


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry is refused before reading a byte of it, or None."""
    path = info.filename
    parts = re.split(r"[\\/]", path)
    if path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", path) or ".." in parts or "\x00" in path:
        return "absolute or parent-relative path in the archive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link in the archive"
    if info.flag_bits & 0x1:
        return "encrypted archive entry"
    if info.file_size > MAX_FILE_BYTES:
        return f"the entry expands beyond {MAX_FILE_BYTES // MiB} MB"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return "suspicious compression ratio (zip bomb?)"
    return None


def _is_os_junk(path: str) -> bool:
    # macOS adds `__MACOSX/._name.bpmn` resource forks to archives: binary, and not the user's files.
    return path.startswith("__MACOSX/") or path.rsplit("/", 1)[-1].startswith("._")


def _extract(archive: zipfile.ZipFile, wanted: list[zipfile.ZipInfo], name: str) -> dict[str, bytes]:
    """Read the wanted entries with bounded reads: declared sizes are not trusted."""
    files: dict[str, bytes] = {}
    total = 0
    for info in wanted:
        if info.filename in files:
            raise InvalidModel([_problem("bad_archive", "duplicate entry in the archive", info.filename)])
        try:
            with archive.open(info) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError) as exc:
            raise InvalidModel([_problem("bad_archive", f"unreadable entry: {exc}", info.filename)]) from exc
        total += len(data)
        if len(data) > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
            raise InvalidModel([_problem("bad_archive", "the archive expands beyond its limits", name)])
        files[info.filename] = data
    return files


def parse_xml(content: bytes, filename: str) -> Any:
    """Parse one XML file with the hardened parser; returns an lxml `ElementTree`.

    No DTD (internal or external), no entities, no network; caps on size, depth and element count.
    Raises `InvalidModel` with one problem (`malformed_xml`, `doctype_forbidden`, `too_large`,
    `too_deep`) located by line where the parser knows it.
    """
    if len(content) > MAX_FILE_BYTES:
        raise InvalidModel([_problem("too_large", f"the file exceeds {MAX_FILE_BYTES // MiB} MB", filename)])
    found = _DTD_MARKUP.search(content.replace(b"\x00", b""))
    if found:
        # Refused before parsing: defeats billion-laughs and external entities whatever libxml2 does.
        line = content[: found.start()].count(b"\n") + 1 if b"\x00" not in content else None
        raise InvalidModel([_problem("doctype_forbidden", "DOCTYPE and ENTITY declarations are not allowed",
                                     filename, line=line)])
    root = _parse_bounded(content, filename)
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InvalidModel([_problem("doctype_forbidden", "DOCTYPE declarations are not allowed", filename)])
    return tree


def _new_parser() -> Any:
    # A fresh parser per document: lxml parsers keep state and are not to be shared across threads.
    return etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )


def _parse_bounded(content: bytes, filename: str) -> Any:
    """Feed the document in chunks and stop as soon as it is too deep or too big."""
    parser = _new_parser()
    etree.clear_error_log()  # the pull parser reports through the thread's global log
    depth = count = 0
    try:
        for offset in range(0, len(content), _CHUNK):
            parser.feed(content[offset : offset + _CHUNK])
            for event, element in parser.read_events():
                if event == "end":
                    depth -= 1
                    continue
                depth += 1
                count += 1
                if depth > MAX_DEPTH:
                    raise InvalidModel([_problem("too_deep", f"elements nest deeper than {MAX_DEPTH} levels",
                                                 filename, line=element.sourceline)])
                if count > MAX_ELEMENTS:
                    raise InvalidModel([_problem("too_large", f"more than {MAX_ELEMENTS} elements",
                                                 filename, line=element.sourceline)])
        return parser.close()
    except etree.XMLSyntaxError as exc:
        raise InvalidModel([_syntax_problem(exc, filename)]) from exc


def _syntax_problem(exc: Any, filename: str) -> Problem:
    # The pull parser's own message is often just "no element found": the (thread's) log, cleared
    # before parsing, has the first cause.
    entries = [e for e in exc.error_log if e.level >= etree.ErrorLevels.ERROR]
    message = entries[0].message if entries else str(exc.msg or exc)
    line = entries[0].line if entries else exc.lineno
    line = line if isinstance(line, int) and line > 0 else None
    if "Excessive depth" in message:  # libxml2's own cap (256) fired before ours could
        return _problem("too_deep", f"elements nest deeper than {MAX_DEPTH} levels", filename, line=line)
    if "huge" in message.lower():
        return _problem("too_large", message, filename, line=line)
    if "DOCTYPE" in message:
        return _problem("doctype_forbidden", message, filename, line=line)
    if not message.strip() or message.strip() in ("None", "no element found"):
        message = "the file is empty or not XML"
    return _problem("malformed_xml", message, filename, line=line)


def load_documents(source: ModelSource, *, problems: list[Problem] | None = None) -> Documents:
    """Read an upload and parse every BPMN and DMN file in it.

    A broken file yields one problem (it hides whatever else is wrong inside it). With `problems`
    given, those are appended there and the parseable files are returned; otherwise `InvalidModel`
    lists the problems of every file. An unreadable upload always raises `InvalidModel`.
    """
    warnings: list[Problem] = []
    files = read_files(source, warnings=warnings)
    docs = Documents(files=files, warnings=warnings)
    found: list[Problem] = []
    for name, content in files.items():
        kind = file_kind(name)
        if kind not in ("bpmn", "dmn"):
            continue
        try:
            tree = parse_xml(content, name)
        except InvalidModel as exc:
            found.extend(exc.problems)
            continue
        (docs.bpmn if kind == "bpmn" else docs.dmn)[name] = tree
    if problems is not None:
        problems.extend(found)
    elif found:
        raise InvalidModel(found)
    return docs


def _problem(code: str, message: str, file: str | None, *, line: int | None = None,
             severity: Literal["error", "warning"] = "error") -> Problem:
    return Problem(code=code, message=message, file=file, line=line, severity=severity)
