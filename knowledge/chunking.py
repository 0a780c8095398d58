"""Split markdown-like text into chunks that remember their heading path and character span."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\r?\n[ \t\r]*\n")

# MiniLM reads at most 256 word pieces (~1000 characters of English); longer chunks are
# truncated when embedded, so sections are split near that size.
MAX_CHUNK_CHARS = 1000


@dataclass(frozen=True)
class Chunk:
    text: str
    heading: str  # "Title > Section > Subsection"
    start: int  # character span in the document's extracted text
    end: int


def _fenced_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of fenced code blocks (``` or ~~~), where '#' starts a comment."""
    ranges, opened = [], None
    for fence in _FENCE.finditer(text):
        if opened is None:
            opened = fence
        elif fence.group(1)[0] == opened.group(1)[0]:
            ranges.append((opened.start(), fence.end()))
            opened = None
    if opened is not None:
        ranges.append((opened.start(), len(text)))
    return ranges


def _sections(text: str):
    """Yield (heading path, start, end) for the text under each heading."""
    path: list[str] = []
    fenced = _fenced_ranges(text)
    matches = [m for m in _HEADING.finditer(text)
               if not any(a <= m.start() < b for a, b in fenced)]
    first = matches[0].start() if matches else len(text)
    if text[:first].strip():
        yield "", 0, first
    for i, match in enumerate(matches):
        level = len(match.group(1))
        path = path[: level - 1] + [match.group(2).strip()]
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        yield " > ".join(path), match.end(), end


def _paragraph_spans(text: str, start: int, end: int):
    """Spans of non-blank paragraphs inside [start, end)."""
    cursor = start
    for brk in _PARAGRAPH_BREAK.finditer(text, start, end):
        yield cursor, brk.start()
        cursor = brk.end()
    yield cursor, end


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _hard_split(text: str, start: int, end: int, limit: int):
    """Cut an over-long paragraph into pieces of at most `limit` characters, at a space if any."""
    while end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit + 1)
        cut = cut if cut > start else start + limit
        yield start, cut
        start = cut
    yield start, end


def chunk_text(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Group paragraphs of each section into chunks of at most `max_chars` characters."""
    chunks: list[Chunk] = []
    for heading, sec_start, sec_end in _sections(text):
        pieces = []
        for p_start, p_end in _paragraph_spans(text, sec_start, sec_end):
            p_start, p_end = _trimmed(text, p_start, p_end)
            for piece in _hard_split(text, p_start, p_end, max_chars) if p_end > p_start else ():
                piece = _trimmed(text, *piece)
                if piece[1] > piece[0]:
                    pieces.append(piece)
        group_start = group_end = None
        for p_start, p_end in pieces:
            if group_start is not None and p_end - group_start > max_chars:
                chunks.append(Chunk(text[group_start:group_end], heading, group_start, group_end))
                group_start = None
            if group_start is None:
                group_start = p_start
            group_end = p_end
        if group_start is not None:
            chunks.append(Chunk(text[group_start:group_end], heading, group_start, group_end))
    return chunks
