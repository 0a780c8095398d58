"""Sources trimmed to the sentences that bear on the question."""

from assistant.excerpts import excerpt
from assistant.prompt import build_messages
from assistant.records import Passage

PASSAGE = (
    "BLEU compares n-grams of a candidate with references. "
    "It was introduced for machine translation in 2002. "
    "Many teams report it next to chrF. "
    "The brevity penalty lowers the score of candidates shorter than the reference. "
    "Scores range from 0 to 100 in sacrebleu."
)


def test_short_passage_is_kept_whole():
    assert excerpt("One sentence.", "anything", 600) == "One sentence."


def test_keeps_the_sentences_that_answer_within_budget():
    text = excerpt(PASSAGE, "What does the brevity penalty in BLEU do?", 160)
    assert "brevity penalty lowers the score" in text
    assert len(text) <= 160 + 10
    assert "chrF" not in text  # shares no word with the question


def test_kept_sentences_stay_in_order_and_gaps_are_marked():
    text = excerpt(PASSAGE, "What does BLEU compare, and what is the brevity penalty?", 200)
    assert text.index("n-grams") < text.index("brevity penalty")
    assert "…" in text


def test_prompt_shows_excerpts_not_whole_chunks():
    passage = Passage(1, "c1", "bleu.md", "BLEU", PASSAGE * 4, 0.8, 0, 0)
    messages = build_messages("What does the brevity penalty do?", [passage], max_chars=300)
    user = messages[-1]["content"]
    assert "[1] (bleu.md > BLEU)" in user
    assert len(user) < len(PASSAGE * 4)
    assert "brevity penalty" in user
