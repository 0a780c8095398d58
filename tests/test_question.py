"""assistant.question.clean_question: what reaches the pipeline from whatever the user typed."""

import unicodedata

import pytest

from assistant.question import CleanQuestion, EmptyQuestion, clean_question


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "\n\t \n", b"", b"  \n", "\x00\x01\x7f", "\u00a0 "]
)
def test_blank_questions_raise_empty_question(raw):
    with pytest.raises(EmptyQuestion):
        clean_question(raw, max_chars=100)


def test_empty_question_is_a_value_error_with_a_message():
    with pytest.raises(ValueError, match="question"):
        clean_question(None, max_chars=100)


def test_plain_question_passes_through_unchanged():
    result = clean_question("  What is the refund policy?\n", max_chars=100)
    assert result == CleanQuestion("What is the refund policy?", 29, False, 0)
    assert result.notices == []


def test_tab_and_newline_inside_are_kept():
    result = clean_question("line one\n\tline two", max_chars=100)
    assert result.text == "line one\n\tline two"
    assert result.removed_characters == 0


def test_valid_utf8_bytes_are_decoded():
    result = clean_question("café ☕".encode(), max_chars=100)
    assert result.text == "café ☕"
    assert result.removed_characters == 0


def test_invalid_utf8_bytes_are_dropped_and_counted():
    result = clean_question(b"caf\xe9 au lait \xff\xfe?", max_chars=100)
    assert result.text == "caf au lait ?"
    assert "\ufffd" not in result.text
    assert result.removed_characters == 3
    assert result.notices == ["3 control or invalid character(s) were removed."]


def test_c0_c1_and_nul_control_characters_are_removed_and_counted():
    raw = "a\x00b\x07c\x1bd\x7fe\x85f\x9fg"
    result = clean_question(raw, max_chars=100)
    assert result.text == "abcdefg"
    assert result.removed_characters == 6
    assert result.original_chars == len(raw)
    assert not result.truncated


def test_non_breaking_space_is_not_a_control_character():
    result = clean_question("a\u00a0b", max_chars=100)
    assert result.text == "a\u00a0b"
    assert result.removed_characters == 0


def test_lone_surrogates_are_removed_and_result_is_encodable():
    result = clean_question("ab\ud800c\udfffd", max_chars=100)
    assert result.text == "abcd"
    assert result.removed_characters == 2
    result.text.encode("utf-8")  # would raise on a surrogate


def test_nfc_normalisation():
    decomposed = "Cafe\u0301 cre\u0300me"  # e + combining accents
    result = clean_question(decomposed, max_chars=100)
    assert result.text == "Café crème"
    assert unicodedata.is_normalized("NFC", result.text)
    # Normalisation is not "removing" characters.
    assert result.removed_characters == 0
    assert result.notices == []


def test_long_question_is_truncated_with_a_notice_stating_the_original_length():
    raw = "x" * 100_000
    result = clean_question(raw, max_chars=4000)
    assert result.truncated
    assert result.text == "x" * 4000
    assert result.original_chars == 100_000
    assert result.notices == [
        "Your question was 100,000 characters long; only the first 4,000 were used."
    ]


def test_question_exactly_max_chars_is_not_truncated():
    result = clean_question("y" * 50, max_chars=50)
    assert not result.truncated
    assert result.text == "y" * 50
    assert result.notices == []


def test_truncation_strips_trailing_whitespace_at_the_cut():
    result = clean_question("abc def ghi", max_chars=4)
    assert result.text == "abc"
    assert result.truncated


def test_notices_list_both_truncation_and_removal_in_order():
    raw = "\x00\x01" + "word " * 1000
    result = clean_question(raw, max_chars=10)
    assert result.truncated
    assert result.removed_characters == 2
    notices = result.notices
    assert len(notices) == 2
    assert notices[0].startswith(f"Your question was {len(raw):,} characters long")
    assert f"only the first {len(result.text):,} were used" in notices[0]
    assert notices[1] == "2 control or invalid character(s) were removed."
