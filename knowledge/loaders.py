"""Turn a file into markdown-like text: headings as '#' lines so chunking works on every format."""

from __future__ import annotations

import io
from pathlib import Path

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}


class UnreadableDocument(ValueError):
    """The file could not be turned into text; the message says why, for the user."""


def _decode_text(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(f"{path.name}: looks like a binary file, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UnreadableDocument(
            f"{path.name}: not valid UTF-8 text (byte {err.start}); save it as UTF-8 and retry."
        ) from err


def _html_to_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    text = soup.get_text("\n")
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(lines)


def _pdf_to_text(path: Path, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as err:
        raise UnreadableDocument(f"{path.name}: not a readable PDF ({err}).") from err
    # One heading per page, so citations can point at the page.
    return "\n\n".join(f"# Page {i}\n\n{text.strip()}" for i, text in enumerate(pages, 1) if text)


def _docx_to_text(path: Path, data: bytes) -> str:
    import zipfile

    import docx
    from docx.opc.exceptions import OpcError

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, OpcError, KeyError, ValueError) as err:
        raise UnreadableDocument(f"{path.name}: not a readable .docx file ({err}).") from err
    lines = []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name or "") if paragraph.style is not None else ""
        text = paragraph.text.strip()
        if not text:
            continue
        if style.startswith("Heading") and style[-1:].isdigit():
            lines.append(f"{'#' * int(style[-1])} {text}")
        elif style == "Title":
            lines.append(f"# {text}")
        else:
            lines.append(text)
    return "\n\n".join(lines)


def load_text(path: Path, data: bytes) -> str:
    """The document's text; raises UnreadableDocument with a user-facing reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableDocument(
            f"{path.name}: unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}."
        )
    if suffix == ".pdf":
        text = _pdf_to_text(path, data)
    elif suffix == ".docx":
        text = _docx_to_text(path, data)
    elif suffix in {".html", ".htm"}:
        text = _html_to_text(_decode_text(data, path))
    else:
        text = _decode_text(data, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UnreadableDocument(f"{path.name}: contains no text to index.")
    return text
