"""Hardened input: hostile XML and archives give a problem and never read files or touch the network."""

from __future__ import annotations

import io
import re
import socketserver
import threading
import time
import zipfile

import pytest

from bpmn import loading
from bpmn.errors import InvalidModel
from bpmn.loading import load_documents, parse_xml, read_files
from bpmn.types import ModelSource

MINIMAL = b'<?xml version="1.0"?>\n<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>\n'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""


def problem_of(call, *args):
    with pytest.raises(InvalidModel) as info:
        call(*args)
    [problem] = info.value.problems
    return problem


class _CountingHandler(socketserver.BaseRequestHandler):
    hits: list[str] = []

    def handle(self) -> None:
        self.hits.append(self.request.recv(1024).decode(errors="replace"))


@pytest.fixture
def listener():
    """A local TCP server that records every connection: proof that nothing was fetched."""
    _CountingHandler.hits = []
    server = socketserver.TCPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _CountingHandler.hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-VALUE")
    return path


def test_plain_xml_parses_and_keeps_lines():
    tree = parse_xml(b'<?xml version="1.0"?>\n<a>\n  <b id="x"/>\n</a>', "m.bpmn")
    assert tree.getroot().find("b").sourceline == 3


def test_billion_laughs_is_refused_quickly():
    started = time.monotonic()
    problem = problem_of(parse_xml, BILLION_LAUGHS, "lol.bpmn")
    assert problem.code == "doctype_forbidden"
    assert problem.line == 2
    assert problem.file == "lol.bpmn"
    assert time.monotonic() - started < 1


def test_external_entity_is_refused_without_reading_the_file(secret_file):
    xml = f'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret_file}">]>\n<a>&x;</a>'
    problem = problem_of(parse_xml, xml.encode(), "xxe.bpmn")
    assert problem.code == "doctype_forbidden"
    assert "TOP-SECRET" not in problem.message


@pytest.mark.parametrize("doctype", [
    "<!DOCTYPE a>", '<!DOCTYPE a PUBLIC "-//x//y" "a.dtd">', "<!DOCTYPE a []>",
])
def test_any_doctype_is_refused(doctype):
    assert problem_of(parse_xml, f"{doctype}\n<a/>".encode(), "d.bpmn").code == "doctype_forbidden"


def test_external_dtd_url_is_refused_without_a_connection(listener):
    url, hits = listener
    xml = f'<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "{url}/evil.dtd">\n<a/>'
    assert problem_of(parse_xml, xml.encode(), "dtd.bpmn").code == "doctype_forbidden"
    time.sleep(0.1)
    assert hits == []


def test_doctype_hidden_in_utf16_is_refused():
    xml = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE a [<!ENTITY x "y">]>\n<a>&x;</a>'
    assert problem_of(parse_xml, xml.encode("utf-16"), "u.bpmn").code == "doctype_forbidden"


def test_parser_itself_follows_nothing_even_without_the_prescan(monkeypatch, listener, secret_file):
    # Defence in depth: if the byte scan were ever bypassed, the parser still neither fetches a DTD
    # nor reads an entity's file, and the DOCTYPE is still refused after parsing.
    url, hits = listener
    monkeypatch.setattr(loading, "_DTD_MARKUP", re.compile(rb"(?!)"))
    xml = (f'<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "{url}/evil.dtd" '
           f'[<!ENTITY x SYSTEM "file://{secret_file}">]>\n<a>&x;</a>')
    problem = problem_of(parse_xml, xml.encode(), "x.bpmn")
    assert problem.code == "doctype_forbidden"
    assert "TOP-SECRET" not in problem.message
    root = loading._parse_bounded(xml.encode(), "x.bpmn")
    assert "TOP-SECRET" not in (root.text or "")
    time.sleep(0.1)
    assert hits == []


def test_billion_laughs_without_the_prescan_is_not_expanded(monkeypatch):
    monkeypatch.setattr(loading, "_DTD_MARKUP", re.compile(rb"(?!)"))
    started = time.monotonic()
    # libxml2's amplification guard or our DOCTYPE check: refused either way, and at once.
    assert problem_of(parse_xml, BILLION_LAUGHS, "lol.bpmn").code in {"doctype_forbidden", "malformed_xml"}
    assert time.monotonic() - started < 1


def test_huge_file_is_refused_before_parsing():
    content = b"<a>" + b" " * (loading.MAX_FILE_BYTES + 1) + b"</a>"
    assert problem_of(parse_xml, content, "big.bpmn").code == "too_large"


def test_huge_upload_is_refused():
    content = b" " * (loading.MAX_UPLOAD_BYTES + 1)
    assert problem_of(read_files, ModelSource("big.bpmn", content)).code == "too_large"


@pytest.mark.parametrize("depth", [loading.MAX_DEPTH + 1, 300, 5000])
def test_deep_nesting_is_refused(depth):
    content = b"<a>\n" * depth + b"</a>" * depth
    problem = problem_of(parse_xml, content, "deep.bpmn")
    assert problem.code == "too_deep"


def test_nesting_at_the_cap_is_fine():
    depth = loading.MAX_DEPTH
    assert parse_xml(b"<a>" * depth + b"</a>" * depth, "ok.bpmn") is not None


def test_too_many_elements_is_refused():
    content = b"<a>" + b"<b/>" * loading.MAX_ELEMENTS + b"</a>"
    assert problem_of(parse_xml, content, "wide.bpmn").code == "too_large"


@pytest.mark.parametrize(("content", "line"), [
    (b"", None), (b"not xml at all", 1), (b"<a>\n<b></a>", 2), (b"<a>\n&undefined;</a>", 2),
])
def test_malformed_xml(content, line):
    problem = problem_of(parse_xml, content, "bad.bpmn")
    assert problem.code == "malformed_xml"
    assert problem.line == line
    assert problem.message


# --- uploads and archives ------------------------------------------------------------------------


def make_zip(entries, *, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            if isinstance(name, zipfile.ZipInfo):
                archive.writestr(name, data)
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def test_single_bpmn_or_xml_file():
    assert read_files(ModelSource("C:\\fakepath\\order.bpmn", MINIMAL)) == {"order.bpmn": MINIMAL}
    assert read_files(ModelSource("order.xml", MINIMAL)) == {"order.xml": MINIMAL}


def test_other_uploads_are_refused():
    assert problem_of(read_files, ModelSource("order.exe", MINIMAL)).code == "unsupported_file"


def test_zip_keeps_model_files_and_warns_about_others():
    content = make_zip({"main.bpmn": MINIMAL, "rules/d.dmn": b"<d/>", "forms/f.json": b"{}",
                        "README.md": b"hi", "__MACOSX/._main.bpmn": b"\x00\x05", "dir/": b""})
    warnings = []
    files = read_files(ModelSource("m.zip", content), warnings=warnings)
    assert list(files) == ["main.bpmn", "rules/d.dmn", "forms/f.json"]
    assert [(w.code, w.file, w.severity) for w in warnings] == [("ignored_file", "README.md", "warning")]


@pytest.mark.parametrize("name", ["../evil.bpmn", "/etc/evil.bpmn", "a/../../evil.bpmn", "C:/evil.bpmn",
                                  "a\\..\\evil.bpmn"])
def test_zip_paths_outside_the_archive_are_refused(name):
    problem = problem_of(read_files, ModelSource("m.zip", make_zip({"ok.bpmn": MINIMAL, name: MINIMAL})))
    assert problem.code == "bad_archive"
    assert problem.file == name


def test_zip_symlink_is_refused():
    link = zipfile.ZipInfo("link.bpmn")
    link.external_attr = (0o120777 << 16)
    content = make_zip({"ok.bpmn": MINIMAL, link: "/etc/passwd"})
    problem = problem_of(read_files, ModelSource("m.zip", content))
    assert problem.code == "bad_archive"
    assert "link" in problem.message


def test_zip_bomb_by_declared_size_is_refused_without_extracting():
    bomb = make_zip({"bomb.bpmn": b"\0" * (loading.MAX_FILE_BYTES + 1)})
    assert len(bomb) < 100_000
    assert problem_of(read_files, ModelSource("m.zip", bomb)).code == "bad_archive"


def test_zip_bomb_by_ratio_is_refused():
    bomb = make_zip({"bomb.bpmn": b"\0" * (loading.RATIO_FLOOR * 2)})
    problem = problem_of(read_files, ModelSource("m.zip", bomb))
    assert problem.code == "bad_archive"
    assert "ratio" in problem.message


def test_zip_with_lying_size_headers_is_read_bounded():
    content = bytearray(make_zip({"m.bpmn": MINIMAL + b" " * 5000}))
    # Shrink the declared size in the local header and in the central directory.
    content[22:26] = (10).to_bytes(4, "little")
    central = content.index(b"PK\x01\x02")
    content[central + 24 : central + 28] = (10).to_bytes(4, "little")
    assert problem_of(read_files, ModelSource("m.zip", bytes(content))).code == "bad_archive"


def test_zip_total_size_is_capped(monkeypatch):
    monkeypatch.setattr(loading, "MAX_TOTAL_BYTES", 1000)
    content = make_zip({"a.bpmn": MINIMAL + b" " * 600, "b.bpmn": MINIMAL + b" " * 600})
    assert problem_of(read_files, ModelSource("m.zip", content)).code == "bad_archive"


def test_zip_member_count_is_capped():
    content = make_zip({f"f{i}.json": b"{}" for i in range(loading.MAX_MEMBERS + 1)})
    assert problem_of(read_files, ModelSource("m.zip", content)).code == "bad_archive"


@pytest.mark.parametrize("content", [b"PK\x03\x04garbage", b"not a zip", b""])
def test_broken_zip(content):
    assert problem_of(read_files, ModelSource("m.zip", content)).code == "bad_archive"


def test_zip_without_bpmn():
    assert problem_of(read_files, ModelSource("m.zip", make_zip({"f.json": b"{}"}))).code == "bad_archive"


def test_encrypted_zip_entry_is_refused():
    content = bytearray(make_zip({"m.bpmn": MINIMAL}))
    content[6] |= 0x1  # the encryption flag, local header ...
    central = content.index(b"PK\x01\x02")
    content[central + 8] |= 0x1  # ... and central directory
    assert problem_of(read_files, ModelSource("m.zip", bytes(content))).code == "bad_archive"


def test_load_documents_reports_every_broken_file():
    content = make_zip({"a.bpmn": b"<a>", "b.bpmn": MINIMAL, "c.dmn": b"<!DOCTYPE x>\n<x/>"})
    with pytest.raises(InvalidModel) as info:
        load_documents(ModelSource("m.zip", content))
    assert [(p.code, p.file) for p in info.value.problems] == [
        ("malformed_xml", "a.bpmn"), ("doctype_forbidden", "c.dmn")]
    problems = []
    docs = load_documents(ModelSource("m.zip", content), problems=problems)
    assert list(docs.bpmn) == ["b.bpmn"]
    assert len(problems) == 2
