"""Per-item scores of a hand-made ItemResult, checked against hand-computed values."""

import math

import pytest
from sacrebleu.metrics import BLEU, CHRF

from evals.replay import ItemResult
from evals.scoring import aggregate, corpus_scores, score_item, strip_markers
from tests.fakes import WordSupportChecker

PASSAGE_1 = "The brevity penalty penalises candidates that are shorter than the reference."
PASSAGE_2 = "ROUGE measures recall of n-grams."


def result(**changes) -> ItemResult:
    base = dict(
        id="q1", question="What does the brevity penalty do?",
        reference="It penalises candidates shorter than the reference.",
        gold_sources=["bleu.md"], answerable=True,
        answer="It penalises short candidates [1].", refused=False, reason="ANSWERED",
        cited_sources=["rouge.md"], retrieved_sources=["rouge.md", "bleu.md"],
        invalid_citations=0, first_token_ms=100, duration_ms=900, completion_tokens=8,
        cited_numbers=[1], passage_numbers=[1, 2], passage_sources=["rouge.md", "bleu.md"],
        passage_texts=[PASSAGE_1, PASSAGE_2], retrieved_scores=[0.7, 0.5],
    )
    return ItemResult(**{**base, **changes})


WORDS = WordSupportChecker()  # answered_wrong without the support model (the shipped: slow)


def fake_embed(texts):
    table = {"What does the brevity penalty do?": [1.0, 0.0],
             "It penalises short candidates [1].": [1.0, 1.0]}
    return [table[t] for t in texts]


def _answered_wrong(question, reference, answer, passage, checker):
    """The answered_wrong score of one answer citing [1], its only passage."""
    return score_item(result(question=question, reference=reference, answer=answer,
                             passage_texts=[passage], cited_numbers=[1], passage_numbers=[1]),
                      k=4, checker=checker)["answered_wrong"]


def test_answerable_item_scores_by_hand():
    scores = score_item(result(), k=4, embed=fake_embed, checker=WORDS)
    assert scores["exact_match"] == 0.0
    # answer tokens {it, penalises, short, candidates}; reference {it, penalises, candidates,
    # shorter, than, reference}: 3 in common, P = 3/4, R = 3/6, F1 = 0.6
    assert scores["token_f1"] == pytest.approx(0.6)
    # LCS "it penalises candidates" = 3; P = 3/4, R = 3/7 (unicode tokens keep "the")
    assert scores["rouge_l"] == pytest.approx(2 * (3 / 4) * (3 / 7) / (3 / 4 + 3 / 7))
    answer = "It penalises short candidates."
    assert scores["bleu"] == pytest.approx(
        BLEU(effective_order=True).sentence_score(answer, [result().reference]).score)
    assert scores["chrf"] == pytest.approx(CHRF().sentence_score(answer, [result().reference])
                                           .score)
    assert scores["hit_at_k"] == 1.0 and scores["reciprocal_rank"] == 0.5
    # content tokens {penalises, short, candidates}; passage 1 has 2 of them
    assert scores["groundedness"] == pytest.approx(2 / 3)
    assert scores["citation_precision"] == 1.0  # 2/3 >= 0.5
    assert scores["answer_relevance"] == pytest.approx(1 / math.sqrt(2))
    assert scores["cites_gold_source"] == 0.0  # it cited rouge.md, the gold is bleu.md
    assert scores["refusal_correct"] == 1.0 and scores["refused"] == 0.0
    assert scores["duration_ms"] == 900 and scores["first_token_ms"] == 100


def test_unanswerable_refusal_scores():
    scores = score_item(result(answerable=False, reference="", gold_sources=[], refused=True,
                               reason="NO_EVIDENCE", answer="I found nothing reliable.",
                               first_token_ms=None, cited_sources=[], passage_texts=[],
                               passage_numbers=[]), k=4, embed=fake_embed)
    assert scores["refusal_correct"] == 1.0 and scores["refused"] == 1.0
    for name in ("token_f1", "bleu", "hit_at_k", "groundedness", "citation_precision",
                 "answer_relevance", "duration_ms"):
        assert scores[name] is None, name


def test_citation_to_an_unsupporting_passage_and_refusal_on_answerable():
    scores = score_item(result(answer="It penalises short candidates [2]."), k=1, checker=WORDS)
    assert scores["citation_precision"] == 0.0 and scores["hit_at_k"] == 0.0
    assert scores["answer_relevance"] is None  # no embedder given
    refused = score_item(result(refused=True, answer="I cannot find this."), k=4, checker=WORDS)
    assert refused["refusal_correct"] == 0.0 and refused["groundedness"] is None


def test_corpus_scores_carry_sacrebleu_signatures():
    corpus = corpus_scores([result(), result(id="q2", answerable=False)])
    expected = BLEU().corpus_score(["It penalises short candidates."],
                                   [[result().reference]]).score
    assert corpus["bleu"]["score"] == pytest.approx(expected)
    assert corpus["bleu"]["signature"].startswith("nrefs:1|")
    assert "chrf" in corpus and "nc:6" in corpus["chrf"]["signature"]


def test_aggregate_and_markers():
    agg = aggregate([1.0, 0.0, None, 1.0, 0.0])
    assert agg["mean"] == 0.5 and agg["n"] == 4 and agg["low"] <= 0.5 <= agg["high"]
    assert aggregate([None]) is None
    assert strip_markers("A [1]. B [2, 3][4] c.") == "A. B c."


@pytest.mark.parametrize("checker", [WORDS, pytest.param(None, marks=pytest.mark.slow)],
                         ids=["word-overlap", "shipped-model"])
def test_answered_wrong_reads_the_answer_against_the_reference(checker):
    """A true sentence that does not say what the reference says is wrong; a paraphrase of
    the reference is right; an answer to an unanswerable question is wrong; a refusal is not
    counted (refusal correctness judges it). None: the shipped support checker."""

    def score(**changes):
        return score_item(result(**changes), k=4, checker=checker)

    right = score(answer="It penalises candidates that are shorter than the reference [1].")
    assert right["answered_wrong"] == 0.0
    beside_the_point = score(answer="ROUGE measures recall of n-grams [2].")
    assert beside_the_point["answered_wrong"] == 1.0
    opposite = score(answer="It penalises candidates longer than the reference [1].")
    assert opposite["answered_wrong"] == 1.0
    unanswerable = score(answerable=False, reference="")
    assert unanswerable["answered_wrong"] == 1.0
    refused = score(refused=True, answer="I cannot find this.")
    assert refused["answered_wrong"] == 0.0
    assert right["quoted"] == 0.0
    assert score(answer_path="quoted")["quoted"] == 1.0


def test_a_number_from_the_sources_is_not_a_contradiction_of_a_short_reference():
    """References are short: a true number the answer took from its passage is missing from the
    reference, not contradicted by it. A number no passage states still counts against it."""
    passage = ("The assistant embeds text with all-MiniLM-L6-v2, a sentence-transformers model "
               "with 6 layers and 384-dimensional vectors.")

    def wrong(answer):
        return score_item(result(
            question="Which embedding model does the assistant use?",
            reference="all-MiniLM-L6-v2.", answer=answer, passage_texts=[passage],
            cited_numbers=[1], passage_numbers=[1], passage_sources=["embeddings.md"],
            retrieved_sources=["embeddings.md"], cited_sources=["embeddings.md"],
            gold_sources=["embeddings.md"], retrieved_scores=[0.8]),
            k=4, checker=WORDS)["answered_wrong"]

    assert wrong("The assistant uses all-MiniLM-L6-v2, with 384-dimensional vectors [1].") == 0.0
    assert wrong("The assistant uses all-MiniLM-L6-v2, with 512-dimensional vectors [1].") == 1.0


def test_a_yes_no_reference_is_answered_by_the_same_word():
    luhn = "The Luhn check of 79927398713: the total is 70, a multiple of 10, so it is valid."

    def wrong(answer):
        return score_item(result(question="Is 79927398713 valid according to Luhn?",
                                 reference="Yes. Its Luhn total is 70, which is divisible by 10.",
                                 answer=answer, passage_texts=[luhn, PASSAGE_2]),
                          k=4, checker=WORDS)["answered_wrong"]

    assert wrong("Yes, 79927398713 is a valid number according to Luhn [1].") == 0.0
    assert wrong("No, 79927398713 is not a valid Luhn number [1].") == 1.0


@pytest.mark.parametrize("checker", [WORDS, pytest.param(None, marks=pytest.mark.slow)],
                         ids=["word-overlap", "shipped-model"])
def test_a_partial_answer_is_right_when_true_to_its_sources_and_on_the_point(checker):
    """Short right answers that say less than half of a long reference were most of v3's false
    flags: all true to the passages and adding one of the reference's own points is enough. A
    true sentence that adds none of them does not answer."""
    passage = ("MMLU scoring for base models is usually done by log-likelihood rather than "
               "free-form generation: the letter with the highest probability is the answer.")

    def wrong(answer):
        return _answered_wrong("How do you score a base model on MMLU?",
                               "By log-likelihood: the answer letter with the highest probability "
                               "is the prediction, and the metric is accuracy.",
                               answer, passage, checker)

    assert wrong("MMLU scoring for base models is usually done by log-likelihood [1].") == 0.0
    assert wrong("MMLU scoring for base models is usually done rather than free-form "
                 "generation [1].") == 1.0
    assert wrong("MMLU scoring for base models is usually done by free-form generation, "
                 "not by log-likelihood [1].") == 1.0


def test_a_claim_its_passage_supports_is_not_contradicted_by_a_short_reference():
    """"without looking at the input" beside "only compare the output" reads as a flipped
    negation; the passage shown to the model settles it. The reversed claim stays wrong."""
    passage = ("Context-free metrics score an output only by comparing it with gold references, "
               "without looking at the input context. Context-dependent metrics use the input "
               "context when scoring.")

    def wrong(answer):
        return _answered_wrong(
            "What is the difference between context-free and context-dependent metrics?",
            "Context-dependent metrics use the input context; context-free metrics only compare "
            "the output with gold references.", answer, passage, WORDS)

    assert wrong("Context-free metrics score an output only by comparing it with gold "
                 "references, without looking at the input context [1].") == 0.0
    assert wrong("Context-free metrics use the input context; context-dependent metrics only "
                 "compare the output with gold references [1].") == 1.0
