"""knowledge.chunking.chunk_text: heading paths, exact character spans, bounded sizes."""

import pytest

from knowledge.chunking import MAX_CHUNK_CHARS, Chunk, chunk_text

HANDBOOK_LIKE = """\
# Employee Handbook

Welcome to the company.

## Leave

You get 25 days of paid leave.

Ask your manager first.

### Sick leave

Call in before 9am.

## Expenses

Keep every receipt.
"""

PREAMBLE = """\
Some text before any heading.

# Title

Body under title.
"""


def _paragraphs(n: int, words: int = 40) -> list[str]:
    return [" ".join(f"p{i}w{j}" for j in range(words)) + "." for i in range(n)]


LONG_SECTION = (
    "# Policies\n\n## Travel\n\n" + "\n\n".join(_paragraphs(12)) + "\n\n## Other\n\nShort.\n"
)
SINGLE_HUGE_PARAGRAPH = "# Big\n\n" + ("lorem ipsum dolor " * 200).strip() + "\n"

ALL_INPUTS = [HANDBOOK_LIKE, PREAMBLE, LONG_SECTION, SINGLE_HUGE_PARAGRAPH,
              "just one line", "#NoSpace is not a heading\n\ntext"]


def _check_invariants(text: str, chunks: list[Chunk], max_chars: int) -> None:
    assert chunks, "expected at least one chunk"
    for chunk in chunks:
        assert chunk.text == text[chunk.start:chunk.end]
        assert chunk.text.strip(), f"empty chunk {chunk!r}"
        assert len(chunk.text) <= max_chars
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.end <= after.start, "chunks overlap"


def test_heading_paths():
    chunks = chunk_text(HANDBOOK_LIKE)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Employee Handbook", "Welcome to the company."),
        ("Employee Handbook > Leave",
         "You get 25 days of paid leave.\n\nAsk your manager first."),
        ("Employee Handbook > Leave > Sick leave", "Call in before 9am."),
        ("Employee Handbook > Expenses", "Keep every receipt."),
    ]


def test_skipped_heading_level_and_closing_hashes():
    text = "# A\n\n### Deep ###\n\nx\n\n## B\n\ny\n"
    assert [(c.heading, c.text) for c in chunk_text(text)] == [("A > Deep", "x"), ("A > B", "y")]


def test_heading_text_itself_is_not_in_the_chunk():
    (chunk,) = chunk_text("# Title\n\nBody.")
    assert chunk.text == "Body."
    assert "Title" not in chunk.text


def test_text_before_first_heading_has_empty_heading():
    chunks = chunk_text(PREAMBLE)
    assert [(c.heading, c.text) for c in chunks] == [
        ("", "Some text before any heading."),
        ("Title", "Body under title."),
    ]


def test_document_without_headings_is_one_chunk():
    (chunk,) = chunk_text("Line one.\nLine two.\n\nSecond paragraph.\n")
    assert chunk.heading == ""
    assert chunk.text == "Line one.\nLine two.\n\nSecond paragraph."


def test_headings_only_and_empty_text_give_no_chunks():
    assert chunk_text("") == []
    assert chunk_text("   \n\n  ") == []
    assert chunk_text("# A\n\n## B\n") == []


@pytest.mark.parametrize("text", ALL_INPUTS)
@pytest.mark.parametrize("max_chars", [MAX_CHUNK_CHARS, 300, 50])
def test_spans_sizes_and_no_empty_chunks(text, max_chars):
    _check_invariants(text, chunk_text(text, max_chars=max_chars), max_chars)


def test_long_section_is_split_at_paragraph_boundaries():
    max_chars = 1000
    chunks = chunk_text(LONG_SECTION, max_chars=max_chars)
    travel = [c for c in chunks if c.heading == "Policies > Travel"]
    assert len(travel) > 1
    assert sum(len(c.text) for c in travel) > max_chars
    paragraphs = _paragraphs(12)
    # No paragraph is cut: every chunk is a run of whole paragraphs, and all of them appear.
    rebuilt = []
    for chunk in travel:
        parts = chunk.text.split("\n\n")
        assert all(p in paragraphs for p in parts)
        rebuilt.extend(parts)
    assert rebuilt == paragraphs
    _check_invariants(LONG_SECTION, chunks, max_chars)
    assert chunks[-1].heading == "Policies > Other"
    assert chunks[-1].text == "Short."


def test_single_paragraph_longer_than_max_is_hard_split():
    max_chars = 1000
    chunks = chunk_text(SINGLE_HUGE_PARAGRAPH, max_chars=max_chars)
    paragraph = SINGLE_HUGE_PARAGRAPH.split("\n\n", 1)[1].strip()
    assert len(paragraph) > 2 * max_chars
    assert len(chunks) >= -(-len(paragraph) // max_chars)
    assert all(c.heading == "Big" for c in chunks)
    # cut at spaces: no word is split, and only the spaces at the cuts are dropped
    assert " ".join(c.text for c in chunks) == paragraph
    assert all(max_chars - 20 <= len(c.text) <= max_chars for c in chunks[:-1])
    for chunk in chunks:
        assert chunk.text == SINGLE_HUGE_PARAGRAPH[chunk.start:chunk.end]


def test_small_paragraphs_are_grouped_up_to_the_limit():
    text = "# S\n\n" + "\n\n".join(["aaaa"] * 10)
    chunks = chunk_text(text, max_chars=20)
    # "aaaa\n\naaaa\n\naaaa" is 16 characters; a fourth paragraph would make 22.
    assert [c.text for c in chunks] == ["aaaa\n\naaaa\n\naaaa"] * 3 + ["aaaa"]


def test_crlf_document_splits_at_paragraph_boundaries_like_lf():
    lf = "# Title\n\n" + "\n\n".join(_paragraphs(8))
    crlf = lf.replace("\n", "\r\n")
    lf_texts = [c.text for c in chunk_text(lf, max_chars=1000)]
    crlf_texts = [c.text.replace("\r\n", "\n") for c in chunk_text(crlf, max_chars=1000)]
    assert crlf_texts == lf_texts


def test_heading_ending_in_hash_keeps_it():
    (chunk,) = chunk_text("# Intro to C#\n\nbody")
    assert chunk.heading == "Intro to C#"


def test_hard_split_never_yields_whitespace_only_chunks():
    text = "a" + " " * 2500 + "b"
    assert all(c.text.strip() for c in chunk_text(text, max_chars=1000))


def test_hash_lines_inside_code_fences_are_not_headings():
    text = "# T\n\nintro\n\n```python\n# not a heading\nx = 1\n```\n\n## S\n\nbody\n"
    chunks = chunk_text(text)
    assert [c.heading for c in chunks] == ["T", "T > S"]
    assert "# not a heading" in chunks[0].text
