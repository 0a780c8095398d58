"""Known-value tests for evals.metrics (hand-computed or taken from the libraries' docs)."""

import inspect

import numpy as np
import pytest
from rouge_score import rouge_scorer

from assistant.text import cosine
from evals import grounding_metrics, metrics, reference_metrics
from evals.grounding_metrics import citation_precision, groundedness
from evals.metrics import (
    METRIC_VERSIONS,
    expected_calibration_error,
    hit_at_k,
    recall_at_k,
    reciprocal_rank,
    refusal_confusion,
)
from evals.reference_metrics import (
    UnicodeTokenizer,
    bleu,
    chrf,
    exact_match,
    normalize_answer,
    rouge_l,
    sentence_bleu,
    sentence_chrf,
    token_f1,
)

# ---------------------------------------------------------------------------------------
# normalisation, EM, F1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Cat sat.", "cat sat"),
        ("  an   apple, a   pear!  ", "apple pear"),
        ("Theory of the anthem", "theory of anthem"),  # articles only as whole words
        ("don't", "dont"),  # SQuAD deletes punctuation rather than spacing it
        ("«Straße» — ¿qué?", "straße qué"),  # Unicode punctuation and dashes
        ("東京、日本。", "東京日本"),
        ("$5 + 3 = 8", "5 3 8"),  # ASCII symbols SQuAD strips
        ("", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match_normalises_and_takes_max_over_references():
    assert exact_match("The Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert exact_match("Paris", ["London", "paris."]) == 1.0
    assert exact_match("Paris, France", ["Paris"]) == 0.0
    assert exact_match("Paris", "paris") == 1.0  # a single reference string is accepted
    with pytest.raises(ValueError):
        exact_match("Paris", [])


def test_token_f1_hand_computed():
    # "the cat sat" -> [cat, sat]; "a cat sat down" -> [cat, sat, down]
    # common = 2, precision = 2/2, recall = 2/3, F1 = 2 * 1 * 2/3 / (1 + 2/3) = 0.8
    assert token_f1("the cat sat", ["a cat sat down"]) == pytest.approx(0.8)
    # multiplicity: [x, x, y] vs [x, y, y] -> common = 2, P = R = 2/3
    assert token_f1("x x y", "x y y") == pytest.approx(2 / 3)
    assert token_f1("blue", ["red"]) == 0.0


def test_token_f1_max_over_references_and_empty_cases():
    assert token_f1("the cat sat", ["dog", "a cat sat down", "cat"]) == pytest.approx(0.8)
    assert token_f1("", [""]) == 1.0
    assert token_f1("the", ["a"]) == 1.0  # both normalise to nothing
    assert token_f1("", ["cat"]) == 0.0
    assert token_f1("cat", [""]) == 0.0


# ---------------------------------------------------------------------------------------
# sacrebleu

# The example in sacrebleu's README, in sacrebleu's reference-stream layout.
README_REF_STREAMS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
README_SYS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
# Our API takes references per item (the transpose).
README_REFS_PER_ITEM = [list(refs) for refs in zip(*README_REF_STREAMS, strict=True)]


def test_bleu_matches_sacrebleu_readme_example():
    result = bleu(README_SYS, README_REFS_PER_ITEM)
    assert round(result.score, 2) == 48.53
    assert result.metric == "bleu"
    assert result.signature.startswith("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert "48.53" in result.text
    assert result.to_dict()["score"] == result.score


def test_chrf_matches_sacrebleu_on_readme_example():
    result = chrf(README_SYS, README_REFS_PER_ITEM)
    assert round(result.score, 2) == 59.73
    assert result.signature.startswith("nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|")
    assert chrf(README_SYS, README_REFS_PER_ITEM, word_order=2).signature.count("nw:2") == 1


def test_corpus_scores_accept_variable_reference_counts_and_check_lengths():
    refs = [["The dog bit the man."], ["It was not unexpected.", "No one was surprised."]]
    result = bleu(README_SYS[:2], refs)
    assert 0 < result.score <= 100
    assert "nrefs:var" in result.signature
    assert bleu(["a b c d e"], [["a b c d e"]]).score == pytest.approx(100.0)
    with pytest.raises(ValueError):
        bleu(README_SYS, README_REFS_PER_ITEM[:2])
    with pytest.raises(ValueError):
        chrf([], [])


def test_sentence_level_scores():
    assert sentence_bleu("The dog bit the man.", ["The dog bit the man."]) == pytest.approx(100.0)
    assert sentence_chrf("The dog bit the man.", "The dog bit the man.") == pytest.approx(100.0)
    # short hypothesis: effective order keeps the score above zero
    assert 0 < sentence_bleu("The man had just bitten him.", README_REFS_PER_ITEM[2]) < 100
    assert sentence_bleu("zzz", ["The dog bit the man."]) == 0.0


# ---------------------------------------------------------------------------------------
# ROUGE-L


def test_rouge_l_hand_computed():
    # LCS("the cat lay on the mat", "the cat sat on the mat") = "the cat on the mat" = 5
    # P = R = 5/6 -> F = 5/6
    assert rouge_l("the cat lay on the mat", "the cat sat on the mat") == pytest.approx(5 / 6)
    # prediction is a prefix: LCS = 3, P = 3/3, R = 3/6 -> F = 2/3
    assert rouge_l("the cat sat", "The cat sat on the mat.") == pytest.approx(2 / 3)
    assert rouge_l("the cat sat", ["dog", "the cat sat"]) == 1.0


def test_rouge_l_handles_non_ascii_text():
    default = rouge_scorer.RougeScorer(["rougeL"])
    chinese = "北京是中国的首都"
    assert default.score(chinese, chinese)["rougeL"].fmeasure == 0.0  # the problem solved here
    for text in ["Die Straße ist schön", chinese, "Café crème à emporter", "Привет, мир"]:
        assert rouge_l(text, text) == pytest.approx(1.0), text
    # CJK per character: LCS("北京是首都", "北京是中国的首都") = 5, P = 5/5, R = 5/8
    assert rouge_l("北京是首都", chinese) == pytest.approx(2 * (5 / 8) / (1 + 5 / 8))
    # accented words are not split into ASCII pieces
    assert rouge_l("café", "caf") == 0.0


def test_unicode_tokenizer():
    tok = UnicodeTokenizer()
    assert tok.tokenize("Die STRASSE, schön!") == ["die", "strasse", "schön"]
    assert tok.tokenize("北京是首都。Tokyo") == ["北", "京", "是", "首", "都", "tokyo"]
    assert tok.tokenize("ＡＢＣ 123_x") == ["abc", "123", "x"]  # NFKC, underscore splits
    assert tok.tokenize("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]  # combining marks stay in words
    assert tok.tokenize("") == []


# ---------------------------------------------------------------------------------------
# retrieval


def test_hit_at_k():
    retrieved = ["a.md", "b.md", "c.md", "d.md"]
    assert hit_at_k(retrieved, ["c.md"], 3) == 1.0
    assert hit_at_k(retrieved, ["c.md"], 2) == 0.0
    assert hit_at_k(retrieved, ["x.md", "a.md"], 1) == 1.0
    assert hit_at_k([], ["a.md"], 5) == 0.0
    assert hit_at_k(retrieved, [], 3) is None
    with pytest.raises(ValueError):
        hit_at_k(retrieved, ["a.md"], 0)


def test_reciprocal_rank_and_mrr():
    retrieved = ["a.md", "b.md", "c.md"]
    assert reciprocal_rank(retrieved, ["a.md"]) == 1.0
    assert reciprocal_rank(retrieved, ["c.md", "b.md"]) == 0.5
    assert reciprocal_rank(retrieved, ["c.md"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(retrieved, ["c.md"], k=2) == 0.0
    assert reciprocal_rank(retrieved, ["z.md"]) == 0.0
    assert reciprocal_rank(retrieved, []) is None
    mrr = np.mean([reciprocal_rank(retrieved, g) for g in (["a.md"], ["b.md"], ["z.md"])])
    assert mrr == pytest.approx((1 + 0.5 + 0) / 3)


def test_recall_at_k():
    retrieved = ["a.md", "a.md", "b.md", "c.md"]  # duplicates (two chunks of a.md)
    assert recall_at_k(retrieved, ["a.md", "c.md"], 2) == 0.5
    assert recall_at_k(retrieved, ["a.md", "c.md"], 4) == 1.0
    assert recall_at_k(retrieved, ["a.md", "a.md"], 1) == 1.0
    assert recall_at_k(retrieved, [], 4) is None


# ---------------------------------------------------------------------------------------
# refusals


def test_refusal_confusion_counts_and_rates():
    items = (
        [(True, True)] * 3  # tp
        + [(False, True)] * 1  # fp
        + [(True, False)] * 2  # fn
        + [(False, False)] * 4  # tn
    )
    r = refusal_confusion(items)
    assert r["counts"] == {"tp": 3, "fp": 1, "fn": 2, "tn": 4}
    assert r["n"] == 10
    assert r["precision"] == pytest.approx(3 / 4)
    assert r["recall"] == pytest.approx(3 / 5)
    assert r["f1"] == pytest.approx(2 * 0.75 * 0.6 / (0.75 + 0.6))
    assert r["accuracy"] == pytest.approx(7 / 10)
    assert r["false_refusal_rate"] == pytest.approx(1 / 5)


def test_refusal_confusion_zero_divisions():
    never_refused = refusal_confusion([(True, False), (False, False)])
    assert never_refused["precision"] is None
    assert never_refused["recall"] == 0.0
    assert never_refused["f1"] is None
    assert never_refused["accuracy"] == 0.5

    all_wrong = refusal_confusion([(True, False), (False, True)])
    assert all_wrong["precision"] == 0.0 and all_wrong["recall"] == 0.0
    assert all_wrong["f1"] == 0.0

    empty = refusal_confusion([])
    assert empty["n"] == 0
    assert all(empty[k] is None for k in ("precision", "recall", "f1", "accuracy"))


# ---------------------------------------------------------------------------------------
# groundedness and citations

PASSAGES = [
    "Employees accrue 25 vacation days per year.",
    "The office closes at 6 pm on Fridays.",
]


def test_groundedness_reads_sentences_and_markers_as_the_guards_do():
    # assistant.text splits and strips markers; a bullet stays, a lone marker is no claim.
    text = "Staff get 25 days [1]. The office closes early.[2]\n- Bring a badge [1, 2]\n[3]"
    assert groundedness(text, [])["sentences"] == [
        "Staff get 25 days.",
        "The office closes early.",
        "- Bring a badge",
    ]
    assert groundedness("Pi is 3.14 roughly. Yes!", [])["sentences"] == [
        "Pi is 3.14 roughly.",
        "Yes!",
    ]
    # Letters of any script are words, and CJK full stops end sentences.
    cjk = groundedness("北京是首都。[1]上海很大。", PASSAGES)
    assert cjk["sentences"] == ["北京是首都。", "上海很大。"] and cjk["score"] == 0.0


def test_groundedness_hand_computed():
    answer = "Employees get 25 vacation days [1]. The office closes at 5 pm on Fridays [2]. Sure!"
    r = groundedness(answer, PASSAGES)
    # s1 content words {employe, 25, vacation, day} ("get" is a stopword): all in passage 0
    # s2 {office, clos, 5, pm, friday}: 4 of 5 in passage 1 -> 0.8
    # "Sure!" has a content word ("sure") found in no passage -> 0.0
    assert r["per_sentence"] == pytest.approx([1.0, 0.8, 0.0])
    assert r["best_passage"] == [0, 1, 0]
    assert r["score"] == pytest.approx(1.8 / 3)
    assert r["sentences"][0] == "Employees get 25 vacation days."
    assert "semantic_score" not in r


def test_groundedness_edge_cases_and_sentence_list():
    assert groundedness("It is what it is.", PASSAGES)["score"] is None  # only stopwords
    assert groundedness("Vacation days.", [])["per_sentence"] == [0.0]
    r = groundedness(["Employees accrue vacation days [1]", "Die Büros schließen."], PASSAGES)
    assert r["per_sentence"] == pytest.approx([1.0, 0.0])


def test_groundedness_with_embed_fn():
    vocab = ["vacation", "office", "fridays"]

    def embed(texts):
        return [[t.lower().count(w) for w in vocab] for t in texts]

    r = groundedness("Vacation matters. Office hours.", PASSAGES, embed_fn=embed)
    assert r["semantic_per_sentence"] == pytest.approx([1.0, 1 / np.sqrt(2)])
    assert r["semantic_score"] == pytest.approx((1 + 1 / np.sqrt(2)) / 2)


def test_citation_precision():
    by_number = {1: PASSAGES[0], 2: PASSAGES[1]}
    answer = (
        "Employees get 25 vacation days [1]. "  # supported by 1 (1.0)
        "The office closes at 5 pm on Fridays [1][2]. "  # 1: 0/5 no, 2: 0.8 yes
        "Parking is free [3]."  # 3 does not exist -> unsupported
    )
    assert citation_precision(answer, by_number) == pytest.approx(2 / 4)
    assert citation_precision(answer, by_number, threshold=0.9) == pytest.approx(1 / 4)
    assert citation_precision("No citations here.", by_number) is None
    assert citation_precision("Employees get 25 vacation days.[1][1]", by_number) == 1.0


def test_a_marker_after_the_full_stop_belongs_to_its_sentence():
    by_number = {1: PASSAGES[0]}
    assert citation_precision("Employees get 25 vacation days. [1] Sure.", by_number) == 1.0


# ---------------------------------------------------------------------------------------
# calibration, cosine, versions


def test_expected_calibration_error_hand_computed():
    conf, correct = [0.1, 0.4, 0.6, 0.9], [False, False, True, True]
    # 2 bins: [0, .5] conf .25 acc 0; (.5, 1] conf .75 acc 1 -> .5*.25 + .5*.25 = .25
    assert expected_calibration_error(conf, correct, n_bins=2) == pytest.approx(0.25)
    # 10 bins, one item each: (.1 + .4 + .4 + .1) / 4 = .25
    assert expected_calibration_error(conf, correct) == pytest.approx(0.25)
    assert expected_calibration_error([0.9, 0.9], [1, 0]) == pytest.approx(0.4)
    assert expected_calibration_error([0.0, 1.0], [0, 1]) == 0.0
    # 0.5 falls in the first of two right-closed bins
    assert expected_calibration_error([0.5, 1.0], [1, 1], n_bins=2) == pytest.approx(0.25)
    assert expected_calibration_error([], []) is None
    with pytest.raises(ValueError):
        expected_calibration_error([1.2], [1])


def test_cosine():
    assert cosine([1, 0], [0, 1]) == 0.0
    assert cosine([1, 2, 3], np.array([2, 4, 6])) == pytest.approx(1.0)
    assert cosine([1, 0], [-1, 0]) == pytest.approx(-1.0)
    assert cosine([0, 0], [1, 1]) == 0.0
    with pytest.raises(ValueError):
        cosine([1, 2], [1, 2, 3])


def test_every_metric_has_a_version():
    modules = (metrics, reference_metrics, grounding_metrics)
    public = {
        name
        for module in modules
        for name, obj in vars(module).items()
        if inspect.isfunction(obj)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    }
    assert public <= set(METRIC_VERSIONS)
    assert all(isinstance(v, str) and v for v in METRIC_VERSIONS.values())
