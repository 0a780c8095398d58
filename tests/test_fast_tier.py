"""The fast tier (`pytest -m "not slow"`) loads no model weights: conftest refuses MiniLM, as
embeddings or as the support checker's base, in any test not marked slow. The fakes that stand
in for them (tests/fakes.py) behave as the tests rely on."""

import pytest

from assistant.config import Settings
from assistant.guards.support import SUPPORTED, SupportChecker
from assistant.text import cosine
from tests.fakes import FAKE_MIN_RELEVANCE, FakeEmbeddings

REFUSED = pytest.fail.Exception


def test_the_embeddings_are_refused_in_a_fast_test():
    from assistant.embeddings import embedding_model_dir, load_embeddings

    with pytest.raises(REFUSED, match="real weights in a fast test: mark it slow"):
        load_embeddings()
    with pytest.raises(REFUSED, match="real weights in a fast test"):
        embedding_model_dir()


def test_the_production_defaults_are_refused_in_a_fast_test(tmp_path):
    from assistant.runtime import make_cache, make_guards
    from assistant.vectorstore import KnowledgeIndex

    with pytest.raises(REFUSED, match="real weights in a fast test"):
        KnowledgeIndex(tmp_path / "chroma", "guard-test")
    with pytest.raises(REFUSED, match="real weights in a fast test"):
        make_guards()
    with pytest.raises(REFUSED, match="real weights in a fast test"):
        make_cache(Settings.from_env())


def test_the_support_model_is_refused_in_a_fast_test():
    from assistant.guards.support import build_model

    checker = SupportChecker()
    # A pair no surface cue settles, so the cross-encoder would have to read it.
    with pytest.raises(REFUSED, match="SupportChecker._load: real weights in a fast test"):
        checker.judge("BLEU was designed by a committee.", "BLEU counts matching n-grams.")
    with pytest.raises(REFUSED, match="real weights in a fast test"):
        build_model()


@pytest.mark.slow
def test_slow_tests_may_load_the_real_weights():
    from assistant.embeddings import load_embeddings

    assert len(load_embeddings().embed_query("What is BLEU?")) == 384
    assert SupportChecker().judge("BLEU is a precision-oriented metric.",
                                  "BLEU is a precision-oriented metric.").label == SUPPORTED


def test_the_fake_embedder_is_deterministic_and_lexical():
    fake = FakeEmbeddings()
    question = fake.embed_query("What does the brevity penalty in BLEU do?")
    assert question == FakeEmbeddings().embed_documents(["the brevity penalty in BLEU"])[0]
    assert cosine(question, question) == pytest.approx(1.0)
    about = fake.embed_query("BLEU multiplies by a brevity penalty for short candidates.")
    unrelated = fake.embed_query("Paris is the capital of France.")
    assert cosine(question, about) > FAKE_MIN_RELEVANCE > cosine(question, unrelated)
