"""The support check in the output guard, and quoting instead of withholding.

The logic is tested with a rule-based checker; the shipped cross-encoder is tested on the
failures that motivated it (reversed definitions, borrowed words) and through the pipeline,
which runs fast with the fake embedder and word overlap, and with MiniLM and the shipped checker
(slow)."""

import pytest

from assistant.guards.guards import Guards
from assistant.guards.support import (
    CONTRADICTED,
    LABELS,
    NOT_ADDRESSED,
    SUPPORTED,
    Judgement,
    SupportChecker,
    label_of,
)
from assistant.prompt import SYSTEM_PROMPT
from assistant.quoting import best_quotes, quoted_answer
from assistant.records import Passage
from tests.fakes import WordSupportChecker

CONTEXT = Passage(1, "c1", "metrics-context-free-vs-dependent.md", "Context-free vs dependent",
                  "Context-free metrics score the answer on its own, without looking at the "
                  "source. Context-dependent metrics compare the answer with the source "
                  "document.", 0.8, 0, 0)
BLEU = Passage(2, "b1", "metric-bleu.md", "BLEU",
               "BLEU measures how many n-grams of a candidate translation also appear in the "
               "reference translations. It is a precision-oriented metric.", 0.7, 0, 0)


class RuleChecker:
    """Supported when the claim is a sentence of the passage; contradicted when it contains
    "not"; otherwise not addressed."""

    def judge_many(self, pairs):
        out = []
        for claim, passage in pairs:
            body = claim.rstrip(".").lower()
            if body in passage.lower():
                probs = {SUPPORTED: 0.9, CONTRADICTED: 0.05, NOT_ADDRESSED: 0.05}
            elif " not " in f" {body} ":
                probs = {SUPPORTED: 0.05, CONTRADICTED: 0.9, NOT_ADDRESSED: 0.05}
            else:
                probs = {SUPPORTED: 0.05, CONTRADICTED: 0.05, NOT_ADDRESSED: 0.9}
            label = max(probs, key=probs.get)
            out.append(Judgement(label, probs))
        return out


@pytest.fixture(scope="module")
def rule_guards():
    return Guards(SYSTEM_PROMPT, checker=RuleChecker())


def test_the_model_only_decides_whether_the_passage_addresses_the_claim():
    assert label_of({SUPPORTED: 0.6, CONTRADICTED: 0.3, NOT_ADDRESSED: 0.1}, 0.5) == SUPPORTED
    assert label_of({SUPPORTED: 0.4, CONTRADICTED: 0.5, NOT_ADDRESSED: 0.1}, 0.5) == SUPPORTED
    assert label_of({SUPPORTED: 0.2, CONTRADICTED: 0.1, NOT_ADDRESSED: 0.7}, 0.5) == NOT_ADDRESSED
    assert set(LABELS) == {SUPPORTED, CONTRADICTED, NOT_ADDRESSED}


def test_a_contradicted_sentence_is_removed_with_a_note_that_names_it(rule_guards):
    answer = ("It is a precision-oriented metric [2]. Context-free metrics do not score the "
              "answer on its own [1].")
    verdict = rule_guards.check_output(answer, [CONTEXT, BLEU])
    assert not verdict.refused
    # What the source says instead is quoted, word for word, with its marker.
    assert verdict.text == ("It is a precision-oriented metric [2].\n\n> Context-free metrics "
                            "score the answer on its own, without looking at the source. [1]")
    assert "contradicts its source" in verdict.message
    assert "quoted at the end" in verdict.message
    # Uncited, it is compared with every passage: the closest sentence is the one quoted.
    uncited = rule_guards.check_output(answer.replace(" [1].", "."), [CONTEXT, BLEU])
    assert uncited.text == verdict.text
    detail = [d.detail for d in verdict.decisions if d.validator == "groundedness"][0]
    assert "1 contradicted" in detail


def test_an_unaddressed_sentence_is_removed_without_a_quote(rule_guards):
    answer = "It is a precision-oriented metric [2]. BLEU was designed for cooking recipes [2]."
    verdict = rule_guards.check_output(answer, [CONTEXT, BLEU])
    assert verdict.text == "It is a precision-oriented metric [2]."
    assert "do not support" in verdict.message and "quoted" not in verdict.message


def test_a_sentence_citing_the_wrong_passage_is_repointed(rule_guards):
    verdict = rule_guards.check_output("It is a precision-oriented metric [1].", [CONTEXT, BLEU])
    assert not verdict.refused and verdict.text == "It is a precision-oriented metric [2]."


def test_nothing_supported_asks_again_then_refuses(rule_guards):
    answer = "BLEU measures the trade-off between precision and recall [2]."
    first = rule_guards.check_output(answer, [CONTEXT, BLEU], attempt=1)
    assert first.needs_reask
    second = rule_guards.check_output(answer, [CONTEXT, BLEU], attempt=2)
    assert second.refused and second.reason == "UNGROUNDED"


def fake_embed(texts):
    """Bag of words over a tiny vocabulary: enough to rank sentences for a question."""
    vocab = ["context", "free", "dependent", "source", "bleu", "n-grams", "precision", "cake"]
    return [[float(t.lower().count(w)) + 0.01 for w in vocab] for t in texts]


def test_quotes_are_the_sentences_closest_to_the_question_with_markers():
    quotes = best_quotes("What do context-dependent metrics compare with the source?",
                         [CONTEXT, BLEU], fake_embed, min_similarity=0.3)
    assert quotes and quotes[0].n == 1
    assert quotes[0].sentence.startswith("Context-dependent metrics compare")
    text = quoted_answer(quotes)
    assert text.startswith("> Context-dependent metrics compare") and "[1]" in text


def test_no_quote_when_no_sentence_shares_the_question_s_words():
    assert best_quotes("How do I bake a cake?", [CONTEXT, BLEU], fake_embed) == []


# -- the shipped cross-encoder ------------------------------------------------------------------


@pytest.fixture(scope="module")
def checker():
    shipped = SupportChecker()
    if not shipped.available:
        pytest.fail("the support check's adapter is not in the repository")
    return shipped


def test_the_shipped_checker_tells_a_reversed_definition_from_the_right_one(checker):
    # Settled by the surface cues, without the model (conftest fails it if it ever needs it).
    passage = f"{CONTEXT.heading}. {CONTEXT.text}"
    right = checker.judge("Context-dependent metrics compare the answer with the source.",
                          passage)
    reversed_ = checker.judge("Context-free metrics compare the answer with the source.", passage)
    assert right.label == SUPPORTED
    assert reversed_.label != SUPPORTED


@pytest.mark.slow
def test_the_shipped_checker_rejects_a_claim_in_borrowed_words(checker):
    passage = f"{BLEU.heading}. {BLEU.text}"
    assert checker.judge("BLEU is a precision-oriented metric.", passage).label == SUPPORTED
    borrowed = checker.judge("BLEU measures the trade-off between precision and recall.", passage)
    assert borrowed.label != SUPPORTED


# -- through the pipeline: quote instead of withholding -----------------------------------------

QUESTION = "What does a context-dependent metric take into account?"
# Quoting needs a source sentence close to the question (quoting.MIN_SIMILARITY, chosen for
# MiniLM): MiniLM finds one for QUESTION, the fake embedder only for a question in its words.
LEXICAL_QUESTION = "What input do context-dependent metrics use when scoring?"
UNSUPPORTED = "Context-dependent metrics are computed by a cluster of GPUs in the cloud [1]."


@pytest.fixture(params=["fake", pytest.param("minilm", marks=pytest.mark.slow)])
def defended(request, fake_embeddings):
    """The handbook pipeline with the guards: over the fake embedder with the word-overlap
    support checker, or (slow) the app's, over MiniLM with the shipped support checker."""
    from assistant.runtime import make_guards

    if request.param == "fake":
        pipeline = request.getfixturevalue("handbook_pipeline")
        pipeline.guards = Guards(SYSTEM_PROMPT, embed_fn=fake_embeddings.embed_documents,
                                 checker=WordSupportChecker())
        return pipeline, LEXICAL_QUESTION
    pipeline = request.getfixturevalue("real_handbook_pipeline")
    pipeline.guards = make_guards()
    return pipeline, QUESTION


def test_a_failed_answer_is_replaced_by_quoted_source_sentences(defended):
    from assistant.pipeline import TurnRequest
    from assistant.quoting import QUOTED_NOTICE
    from assistant.records import ANSWERED, PATH_QUOTED

    defended, question = defended
    defended.generator.queue(UNSUPPORTED, UNSUPPORTED)
    turn = defended.ask(TurnRequest(question))
    assert turn.reasked and not turn.refused and turn.reason == ANSWERED
    assert turn.answer_path == PATH_QUOTED and QUOTED_NOTICE in turn.notices
    assert turn.answer.startswith("> ") and "GPU" not in turn.answer
    assert turn.citations and "context" in turn.answer.lower()
    quoted = turn.answer.splitlines()[0][2:].rsplit(" [", 1)[0]
    cited_text = " ".join(c.text for c in turn.citations)
    assert quoted in cited_text  # word for word
    row = defended.log.turn(turn.turn_id)
    assert row["answer_path"] == PATH_QUOTED
    assert turn.to_json()["answer_path"] == PATH_QUOTED


def test_a_supported_answer_keeps_the_generated_path(defended):
    from assistant.pipeline import TurnRequest
    from assistant.records import PATH_GENERATED

    defended, question = defended
    defended.generator.queue("A context-dependent metric takes the context into account, such "
                             "as the source document or the retrieved passages [1].")
    turn = defended.ask(TurnRequest(question))
    assert not turn.refused and turn.answer_path == PATH_GENERATED, turn.guard
    assert defended.log.turn(turn.turn_id)["answer_path"] == PATH_GENERATED


def test_surface_cues_find_negation_numbers_and_swapped_terms():
    from assistant.guards.contradiction_cues import contradiction_cues

    passage = ("Context-free metrics ignore the source, while context-dependent metrics read it. "
               "BLEU counts 4-grams. It reports precision rather than recall.")
    assert contradiction_cues("Context-free metrics do not ignore the source.", passage) == [
        "negation"]
    assert "number" in contradiction_cues("BLEU counts 5-grams.", passage)
    assert contradiction_cues("Metrics that are context-free do not ignore the source.",
                              passage) == ["negation"]
    assert contradiction_cues("Context-dependent metrics ignore the source, while context-free "
                              "metrics read it.", passage) == ["order"]
    assert contradiction_cues("It reports recall rather than precision.", passage) == ["order"]
    assert contradiction_cues("Metrics that are context-free ignore the source.", passage) == []
    assert contradiction_cues("BLEU counts 4-grams; it reports precision rather than recall.",
                              passage) == []
    # leaving out a negated clause of the source is not a contradiction
    assert contradiction_cues("It reports precision.", passage) == []


def test_a_negation_ends_at_its_clause():
    """"When it cannot answer, the refusal must be visible" negates "answer", not "refusal":
    a claim about the refusal is not a flipped negation."""
    from assistant.guards.contradiction_cues import contradiction_cues

    passage = ("When an assistant cannot or should not answer, the refusal must be clearly "
               "visible and explain why.")
    assert contradiction_cues("A refusal should be clearly visible and explain why.",
                              passage) == []
    assert contradiction_cues("The refusal must not be clearly visible.",
                              passage) == ["negation"]


def test_an_opposite_stopword_is_a_replaced_word():
    """"few" for "many", "before" for "after": stopwords, so not content words, yet the claim
    says the opposite of its source sentence."""
    from assistant.guards.contradiction_cues import contradiction_cues

    passage = ("A thumbs-up button takes one click, so many users use it. The assistant splits "
               "each document into chunks before embedding them.")
    assert contradiction_cues("A thumbs-up button takes one click, so few users use it.",
                              passage) == ["replaced"]
    assert contradiction_cues("The assistant splits each document into chunks after embedding "
                              "them.", passage) == ["replaced"]
    assert contradiction_cues("A thumbs-up button takes one click, so many users use it.",
                              passage) == []


def test_an_opposite_word_counts_however_the_rest_is_reworded():
    """"longer" where the source says "shorter", with the subject named differently: more than
    one word changed, yet the claim says the opposite. A sentence naming both is left alone."""
    from assistant.guards.contradiction_cues import contradiction_cues

    passage = "The brevity penalty penalises candidates that are shorter than the reference."
    assert contradiction_cues("It penalises candidates longer than the reference.",
                              passage) == ["replaced"]
    assert contradiction_cues("It penalises candidates shorter than the reference, not "
                              "longer ones.", passage) != ["replaced"]
    assert contradiction_cues("It penalises candidates that are shorter than the reference.",
                              passage) == []
    examples = ("Examples of context-dependent metrics include factual consistency checkers and "
                "answer relevance scores.")
    assert contradiction_cues("Context-free metrics include factual consistency checkers and "
                              "answer relevance scores.", examples) == ["replaced"]


def test_a_claim_is_compared_with_the_source_clause_it_rewrites():
    """"A does x; B does y" in the source: saying of B what it says of A is one word
    replaced in that clause, though the whole sentence holds both words."""
    from assistant.guards.contradiction_cues import contradiction_cues

    source = ("Context-dependent metrics use the input context; context-free metrics only "
              "compare the output with gold references.")
    assert "replaced" in contradiction_cues(
        "Context-free metrics use the input context; context-dependent metrics only compare "
        "the output with gold references.", source)
    assert contradiction_cues("Context-dependent metrics use the input context.", source) == []


CACHES = ("An exact-match cache uses the request text itself, or a hash of it, as the key. "
          "It returns a stored answer only if the new request is identical. A semantic cache "
          "instead turns each request into an embedding vector. A semantic cache has a higher "
          "hit rate than an exact-match cache.")


@pytest.mark.parametrize("claim, swapped", [
    # What the passage says of the exact-match cache, said of the semantic cache in new words.
    ("A semantic cache uses a hash of the request text.", True),
    ("An exact-match cache turns every request into a vector.", True),
    ("An exact-match cache uses the request text or its hash as the key.", False),
    ("A semantic cache turns each request into an embedding.", False),
    ("A semantic cache has a higher hit rate than an exact-match cache.", False),
    # "new request" is no term of the passage: a reworded modifier is not a sibling swap.
    ("A semantic cache compares a fresh request with stored ones.", False),
])
def test_a_claim_about_a_sibling_term_is_contradicted(claim, swapped):
    from assistant.guards.contradiction_cues import contradiction_cues

    assert ("sibling term" in contradiction_cues(claim, CACHES)) is swapped


@pytest.mark.parametrize("model", ["words", pytest.param("shipped", marks=pytest.mark.slow)])
def test_a_withheld_answer_says_why_once(request, model):
    from assistant.pipeline import TurnRequest
    from assistant.records import refusal_sentence

    if model == "words":
        pipeline, checker = request.getfixturevalue("handbook_pipeline"), WordSupportChecker()
    else:
        pipeline, checker = (request.getfixturevalue("real_handbook_pipeline"),
                             request.getfixturevalue("checker"))
    # No embedder: nothing can be quoted, so the unsupported answer is withheld.
    pipeline.guards = Guards(SYSTEM_PROMPT, checker=checker)
    pipeline.generator.queue(UNSUPPORTED, UNSUPPORTED)
    turn = pipeline.ask(TurnRequest(QUESTION))
    assert turn.refused and turn.reason == "UNGROUNDED"
    assert turn.answer == refusal_sentence("UNGROUNDED") and turn.notices == []


def test_a_quote_is_redacted_and_made_inert_like_a_generated_answer(fake_embeddings):
    from assistant.runtime import make_guards

    guards = make_guards(fake_embeddings, support_check=False)
    text, decisions, notes = guards.check_quote(
        "> Write to jane.roe@example.com <script>alert(1)</script> for access. [1]")
    assert "jane.roe@example.com" not in text and "<script>" not in text
    assert {d.validator for d in decisions if d.outcome == "fail"} == {"pii", "html"}
    assert notes


def test_without_its_adapter_the_guard_falls_back_to_word_overlap(tmp_path, monkeypatch,
                                                                 fake_embeddings):
    from assistant.runtime import make_guards

    assert not SupportChecker(adapter_dir=tmp_path / "nowhere").available
    monkeypatch.setattr(SupportChecker, "available", property(lambda self: False))
    guards = make_guards(fake_embeddings)  # the shipped checker asked for, but not installed
    assert guards.checker is None
    verdict = guards.check_output("It is a precision-oriented metric [2].", [CONTEXT, BLEU])
    assert not verdict.refused and "[2]" in verdict.text


def test_each_side_of_a_contrast_is_checked_on_its_own():
    """"A does x, while B does y": saying of A what the source says of B is caught, though the
    whole claim names both terms."""
    from assistant.guards.contradiction_cues import contradiction_cues

    assert "sibling term" in contradiction_cues(
        "A semantic cache uses a hash of the request text as the key, while an exact-match "
        "cache uses the request text itself.", CACHES)
    assert contradiction_cues(
        "An exact-match cache uses the request text or its hash as the key, while a semantic "
        "cache turns each request into an embedding.", CACHES) == []
