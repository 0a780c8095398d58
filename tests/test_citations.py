"""assistant.citations.resolve_citations: keep markers that point at a passage, drop the rest."""

import pytest

from assistant.citations import resolve_citations
from assistant.records import Citation, Passage


def _passage(n: int) -> Passage:
    return Passage(n=n, chunk_id=f"chunk-{n}", source=f"doc{n}.md", heading=f"H{n}",
                   text=f"passage text {n}", score=0.5 + n / 100, start=n * 10, end=n * 10 + 9)


@pytest.fixture
def passages():
    return [_passage(1), _passage(2)]


def test_valid_marker_is_kept(passages):
    result = resolve_citations("Refunds take 5 days [1].", passages)
    assert result.text == "Refunds take 5 days [1]."
    assert result.citations == [Citation.of(passages[0])]
    assert result.invalid_count == 0


def test_citation_carries_the_passage_fields(passages):
    (citation,) = resolve_citations("x [2]", passages).citations
    assert (citation.n, citation.source, citation.chunk_id, citation.heading, citation.text) == (
        2, "doc2.md", "chunk-2", "H2", "passage text 2")
    assert citation.score == pytest.approx(0.52)


def test_out_of_range_marker_is_removed_and_counted(passages):
    result = resolve_citations("Refunds take 5 days [7].", passages)
    assert result.text == "Refunds take 5 days."
    assert result.citations == []
    assert result.invalid_count == 1


def test_zero_is_not_a_valid_marker(passages):
    result = resolve_citations("a [0] b", passages)
    assert result.text == "a b"
    assert result.invalid_count == 1


def test_comma_list_with_one_invalid_number(passages):
    result = resolve_citations("Both apply [1, 3].", passages)
    assert result.text == "Both apply [1]."
    assert [c.n for c in result.citations] == [1]
    assert result.invalid_count == 1


def test_comma_list_of_valid_numbers_is_rewritten_as_separate_markers(passages):
    result = resolve_citations("Both apply [2,1].", passages)
    assert result.text == "Both apply [2][1]."
    assert [c.n for c in result.citations] == [2, 1]


def test_adjacent_markers(passages):
    result = resolve_citations("Both apply [1][2].", passages)
    assert result.text == "Both apply [1][2]."
    assert [c.n for c in result.citations] == [1, 2]
    assert result.invalid_count == 0


def test_duplicates_are_cited_once(passages):
    result = resolve_citations("A [1]. B [1]. C [1, 1].", passages)
    assert result.text == "A [1]. B [1]. C [1]."
    assert [c.n for c in result.citations] == [1]
    assert result.invalid_count == 0


def test_citation_order_is_order_of_first_use(passages):
    result = resolve_citations("First [2]. Then [1]. Again [2].", passages)
    assert [c.n for c in result.citations] == [2, 1]


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("word [9].", "word."),
        ("word [9], then more [9]!", "word, then more!"),
        ("a [9] b", "a b"),
        ("  lead [8] trail [9]  ", "lead trail"),
        ("word [1] [9].", "word [1]."),
    ],
)
def test_spacing_is_cleaned_after_removal(passages, answer, expected):
    assert resolve_citations(answer, passages).text == expected


def test_paragraph_breaks_survive(passages):
    result = resolve_citations("First [1].\n\nSecond [9].", passages)
    assert result.text == "First [1].\n\nSecond."


def test_no_markers_at_all(passages):
    result = resolve_citations("I have no sources for this.", passages)
    assert result.text == "I have no sources for this."
    assert result.citations == []
    assert result.invalid_count == 0


def test_no_passages_makes_every_marker_invalid():
    result = resolve_citations("Claim [1] and [2, 3].", [])
    assert result.text == "Claim and."
    assert result.citations == []
    assert result.invalid_count == 3


def test_bracketed_non_numbers_are_left_alone(passages):
    result = resolve_citations("See [note] and [a, b] here [1].", passages)
    assert result.text == "See [note] and [a, b] here [1]."
    assert result.invalid_count == 0
