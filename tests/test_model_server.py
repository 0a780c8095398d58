"""The model behind an OpenAI-compatible server: llama.cpp's own server, started here, serving
a tiny random-weight model; streaming, stop, the adapter rule and a server that is down."""

from __future__ import annotations

import pytest

from assistant.base_models import ModelUnavailable
from assistant.config import Settings
from assistant.log import ConversationLog
from assistant.pipeline import Pipeline, TurnRequest
from assistant.records import GENERATION_FAILED, MODEL_UNAVAILABLE
from assistant.runtime import make_generator
from assistant.server_generator import ServerGenerator, api_base
from evals.load_cluster import free_port, model_service

MESSAGES = [{"role": "user", "content": "Count: one, two, three, four, five."}]



@pytest.fixture(scope="module")
def model_server(tiny_qwen_gguf, tmp_path_factory):
    """llama.cpp's server with its default --interrupt_requests True (one test relies on it)."""
    server = model_service(tiny_qwen_gguf, tmp_path_factory.mktemp("llm-server") / "server.log",
                           alias="tiny-qwen", context=1024, queue_requests=False)
    server.start(timeout=120)
    yield server.url
    server.stop()


def test_the_api_base_takes_either_form():
    assert api_base("http://h:8000") == api_base("http://h:8000/v1/") == "http://h:8000/v1"


def test_a_server_that_is_down_is_named_with_what_to_do():
    generator = make_generator(Settings.from_env().with_changes(
        llm_url=f"http://127.0.0.1:{free_port()}"))
    assert isinstance(generator, ServerGenerator)
    with pytest.raises(ModelUnavailable, match="not reachable.*ASSISTANT_LLM_URL"):
        generator.stream(MESSAGES)


@pytest.mark.slow
def test_answers_stream_through_the_server(model_server):
    generator = ServerGenerator(model_server)
    generation = generator.stream(MESSAGES, max_new_tokens=12)
    pieces = list(generation)
    assert generator.name == "tiny-qwen" and generator.runtime == "server"
    # llama.cpp's server sends no usage report while streaming: the pieces are counted.
    assert len(pieces) >= 2 and generation.completion_tokens == len(pieces)


@pytest.mark.slow
def test_stop_ends_the_answer_and_the_request(model_server):
    generation = ServerGenerator(model_server).stream(MESSAGES, max_new_tokens=200)
    seen = []
    for piece in generation:
        seen.append(piece)
        if len(seen) == 3:
            generation.stop()
    assert len(seen) == 3
    # The server is free again at once: the next request is answered.
    assert list(ServerGenerator(model_server).stream(MESSAGES, max_new_tokens=4))


@pytest.mark.slow
def test_an_adapter_the_server_does_not_serve_is_explained(model_server):
    generator = ServerGenerator(model_server, adapter="qwen-v2a")
    with pytest.raises(ModelUnavailable, match="does not serve adapter 'qwen-v2a'.*tiny-qwen"):
        generator.stream(MESSAGES)
    assert list(ServerGenerator(model_server, adapter="tiny-qwen").stream(MESSAGES, 4))


@pytest.mark.slow
def test_a_whole_turn_through_the_server_is_logged(model_server, shared_home, tmp_path):
    from assistant.vectorstore import KnowledgeIndex

    settings = Settings.from_env().with_changes(home=shared_home, llm_url=model_server,
                                                max_new_tokens=16, min_relevance=0.0)
    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    log = ConversationLog(tmp_path / "logs.db")
    pipeline = Pipeline(settings, index, make_generator(settings), log)
    turn = pipeline.ask(TurnRequest("What does the brevity penalty in BLEU do?",
                                    answer_anyway=True))
    assert turn.logged and turn.model == "tiny-qwen", turn.answer
    assert turn.reason not in (MODEL_UNAVAILABLE, GENERATION_FAILED), turn.answer
    assert log.turn(turn.turn_id)["model"] == "tiny-qwen"


def test_a_turn_whose_server_is_down_says_so_and_is_logged(handbook_pipeline):
    handbook_pipeline.generator = ServerGenerator(f"http://127.0.0.1:{free_port()}")
    turn = handbook_pipeline.ask(TurnRequest("What does the brevity penalty in BLEU do?",
                                             answer_anyway=True))
    assert turn.refused and turn.reason == MODEL_UNAVAILABLE and "not reachable" in turn.answer
    assert handbook_pipeline.log.turn(turn.turn_id)["reason"] == MODEL_UNAVAILABLE


@pytest.mark.slow
def test_an_answer_the_server_cuts_short_is_not_taken_for_a_whole_one(model_server):
    """This server runs with llama.cpp's default --interrupt_requests True: a second request
    cuts the first answer short, and the first generation says so instead of ending quietly
    as if the model had finished."""
    first = ServerGenerator(model_server).stream(MESSAGES, max_new_tokens=400)
    pieces = iter(first)
    next(pieces)  # the first answer is being written
    second = ServerGenerator(model_server).stream(MESSAGES, max_new_tokens=4)
    assert list(second)  # answered
    with pytest.raises(ModelUnavailable, match="interrupt_requests False"):
        list(pieces)
