"""knowledge.loaders.load_text: every supported format becomes '#'-headed text, or a clear error."""

import io
import zipfile
from pathlib import Path

import docx
import pytest

from knowledge.loaders import SUPPORTED_SUFFIXES, UnreadableDocument, load_text


def _write(tmp_path: Path, name: str, data: bytes) -> tuple[Path, bytes]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def minimal_pdf(line: str) -> bytes:
    """A one-page PDF with one line of Helvetica text, with a correct xref table."""
    stream = f"BT /F1 24 Tf 72 720 Td ({line}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref_at)
    return bytes(out)


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_paragraph("Employee Handbook", style="Title")
    document.add_paragraph("Leave", style="Heading 1")
    document.add_paragraph("You get 25 days of paid leave.")
    document.add_paragraph("   ")  # blank paragraphs are skipped
    document.add_paragraph("Sick leave", style="Heading 2")
    document.add_paragraph("Call in before 9am.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# -- text formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.md", "notes.txt", "notes.markdown", "NOTES.MD"])
def test_markdown_and_text_pass_through(tmp_path, name):
    text = "# Title\n\nSome *text* with ünïcödé.\n"
    path, data = _write(tmp_path, name, text.encode())
    assert load_text(path, data) == text


def test_utf8_bom_is_stripped(tmp_path):
    path, data = _write(tmp_path, "bom.md", b"\xef\xbb\xbf# Title\n\nBody\n")
    text = load_text(path, data)
    assert text == "# Title\n\nBody\n"
    assert not text.startswith("\ufeff")


def test_html_drops_scripts_and_styles_and_turns_headings_into_hashes(tmp_path):
    html = """<!doctype html><html><head><title>Page</title>
    <style>body { color: red; }</style>
    <script>var secret = "tracking";</script></head>
    <body><h1>Employee <em>Handbook</em></h1><p>Welcome aboard.</p>
    <h2>Leave</h2><p>You get 25 days.</p>
    <noscript>Enable JS</noscript>
    <script type="text/javascript">alert("x")</script></body></html>"""
    path, data = _write(tmp_path, "page.html", html.encode())
    text = load_text(path, data)
    lines = text.splitlines()
    assert "# Employee Handbook" in lines
    assert "## Leave" in lines
    assert "Welcome aboard." in lines and "You get 25 days." in lines
    assert lines.index("# Employee Handbook") < lines.index("Welcome aboard.") < lines.index(
        "## Leave") < lines.index("You get 25 days.")
    for dropped in ("tracking", "color: red", "alert", "Enable JS"):
        assert dropped not in text


def test_htm_suffix_is_html(tmp_path):
    path, data = _write(tmp_path, "page.htm", b"<h3>Deep</h3><p>x</p>")
    assert "### Deep" in load_text(path, data).splitlines()


# -- binary formats --------------------------------------------------------------------------


def test_docx_headings_become_hashes(tmp_path):
    path, data = _write(tmp_path, "handbook.docx", docx_bytes())
    assert load_text(path, data) == (
        "# Employee Handbook\n\n# Leave\n\nYou get 25 days of paid leave.\n\n"
        "## Sick leave\n\nCall in before 9am."
    )


def test_pdf_text_is_extracted_under_a_page_heading(tmp_path):
    path, data = _write(tmp_path, "doc.pdf", minimal_pdf("Refunds take five days"))
    text = load_text(path, data)
    assert text.startswith("# Page 1\n\n")
    assert "Refunds take five days" in text


# -- unreadable files ------------------------------------------------------------------------


def test_binary_file_is_unreadable_with_a_clear_message(tmp_path):
    path, data = _write(tmp_path, "blob.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(UnreadableDocument, match=r"blob\.md: looks like a binary file"):
        load_text(path, data)


def test_invalid_utf8_is_unreadable(tmp_path):
    path, data = _write(tmp_path, "latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"))
    with pytest.raises(UnreadableDocument, match=r"latin1\.txt: not valid UTF-8.*byte 3"):
        load_text(path, data)


def test_invalid_utf8_html_is_unreadable(tmp_path):
    path, data = _write(tmp_path, "page.html", b"<p>caf\xe9</p>")
    with pytest.raises(UnreadableDocument, match="UTF-8"):
        load_text(path, data)


@pytest.mark.parametrize("name", ["image.png", "archive.zip", "Makefile", "data.json"])
def test_unsupported_suffix_is_unreadable(tmp_path, name):
    path, data = _write(tmp_path, name, b"plain text")
    with pytest.raises(UnreadableDocument, match="unsupported file type") as info:
        load_text(path, data)
    assert ", ".join(sorted(SUPPORTED_SUFFIXES)) in str(info.value)


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\nthis is not really a pdf", b"hello world", minimal_pdf("x")[:120]],
    ids=["garbage-after-header", "no-header", "truncated"],
)
def test_corrupt_pdf_is_unreadable(tmp_path, data):
    path, data = _write(tmp_path, "broken.pdf", data)
    with pytest.raises(UnreadableDocument, match=r"broken\.pdf: not a readable PDF"):
        load_text(path, data)


def test_zip_that_is_not_a_docx_is_unreadable(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    path, data = _write(tmp_path, "fake.docx", buffer.getvalue())
    with pytest.raises(UnreadableDocument, match=r"fake\.docx: not a readable \.docx"):
        load_text(path, data)


@pytest.mark.parametrize("data", [b"this is not a zip file", docx_bytes()[:200], b""],
                         ids=["not-a-zip", "truncated", "empty"])
def test_corrupt_docx_is_unreadable(tmp_path, data):
    path, data = _write(tmp_path, "broken.docx", data)
    with pytest.raises(UnreadableDocument, match=r"broken\.docx"):
        load_text(path, data)


@pytest.mark.parametrize("name", ["empty.md", "empty.txt", "empty.html", "empty.pdf"])
def test_empty_file_is_unreadable(tmp_path, name):
    path, data = _write(tmp_path, name, b"")
    with pytest.raises(UnreadableDocument, match=name.replace(".", r"\.")):
        load_text(path, data)


@pytest.mark.parametrize("content", [b"   \n\n\t\n", b"<html><script>x()</script></html>"])
def test_whitespace_only_content_is_unreadable(tmp_path, content):
    path, data = _write(tmp_path, "blank.html", content)
    with pytest.raises(UnreadableDocument, match="contains no text"):
        load_text(path, data)


def test_pdf_is_parsed_from_the_given_bytes(tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(minimal_pdf("Old version"))
    text = load_text(path, minimal_pdf("New version"))
    assert "New version" in text
