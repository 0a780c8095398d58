"""The llama.cpp runtime on a tiny random-weight qwen2 GGUF: streaming, stop, token counts,
one generation at a time, clear errors. Made in the test; nothing is downloaded."""

from __future__ import annotations

import threading

import pytest

from assistant.base_models import ModelUnavailable
from assistant.llama_generator import LlamaCppGenerator

MESSAGES = [{"role": "system", "content": "Answer from the sources."},
            {"role": "user", "content": "Sources:\n\n[1] LoRA freezes the base.\n\nQuestion: ?"}]


@pytest.fixture(scope="module")
def generator(tiny_qwen_gguf):
    return LlamaCppGenerator(tiny_qwen_gguf, name="tiny", threads=1, context_tokens=512)


def test_streams_pieces_and_counts_tokens(generator):
    generation = generator.stream(MESSAGES, max_new_tokens=8)
    pieces = list(generation)
    assert 0 < generation.completion_tokens <= 8
    assert len(pieces) == generation.completion_tokens
    content_tokens = sum(generator.count_tokens(m["content"]) for m in MESSAGES)
    # the chat template wraps both messages in role markers: a few tokens more than the text
    assert content_tokens < generation.prompt_tokens < content_tokens + 30


def test_stop_event_ends_the_stream(generator):
    generation = generator.stream(MESSAGES, max_new_tokens=64)
    generation.stop_event.set()
    assert list(generation) == []


def test_an_abandoned_stream_frees_the_model(generator):
    generation = generator.stream(MESSAGES, max_new_tokens=64)
    next(iter(generation), None)
    generation.pieces.close()  # the consumer went away (closed tab, lost connection)
    finished = threading.Event()

    def second_turn():
        list(generator.stream(MESSAGES, max_new_tokens=2))
        finished.set()

    worker = threading.Thread(target=second_turn, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert finished.is_set(), "the first stream kept the model locked"


def test_same_prompt_gives_the_same_answer(generator):
    first = "".join(generator.stream(MESSAGES, max_new_tokens=6))
    again = "".join(generator.stream(MESSAGES, max_new_tokens=6))
    assert first == again


def test_missing_model_file_says_what_to_do(tmp_path):
    generator = LlamaCppGenerator(tmp_path / "absent.gguf")
    with pytest.raises(ModelUnavailable, match="scripts/setup.sh"):
        generator.stream(MESSAGES)


def test_missing_adapter_says_how_to_get_the_base_model(tiny_qwen_gguf, tmp_path):
    generator = LlamaCppGenerator(tiny_qwen_gguf, tmp_path / "adapter" / "adapter.gguf")
    assert generator.adapter == "adapter"
    with pytest.raises(ModelUnavailable, match="ASSISTANT_ADAPTER=none"):
        generator.stream(MESSAGES)
