"""One turn, end to end, as a LangChain runnable composition shared by the UI, the CLI and evals.

    prepare -> input_guard -> semantic_cache -> retrieve -> respond (generate, cite, log)

The last step streams events: ("token", text) while the answer is written, then ("done", Turn).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from assistant.citations import resolve_citations
from assistant.config import Settings
from assistant.log import ConversationLog, LogUnavailable, new_id
from assistant.model_store import ModelUnavailable
from assistant.prompt import PROMPT_VERSION, build_messages
from assistant.question import EmptyQuestion, clean_question
from assistant.records import (
    ANSWERED,
    EMPTY_QUESTION,
    GENERATION_FAILED,
    MODEL_UNAVAILABLE,
    NO_EVIDENCE,
    NOT_IN_SOURCES,
    REFUSAL_MESSAGES,
    STOPPED,
    Turn,
)
from assistant.retrieval import evidence_passages, has_evidence, to_passages

# What the system prompt tells the model to say when the sources lack the answer.
MODEL_DECLINE_PHRASE = "cannot find this in my sources"


@dataclass
class TurnRequest:
    question: str
    conversation_id: str | None = None
    answer_anyway: bool = False  # the user chose "answer anyway (unverified)"
    use_cache: bool = True  # False: "ask again, fresh", and eval replays
    stop_event: threading.Event = field(default_factory=threading.Event)


@dataclass
class _State:
    request: TurnRequest
    turn: Turn
    started: float
    done: bool = False  # a step already decided the outcome (e.g. empty question)


class Pipeline:
    def __init__(self, settings: Settings, index, generator, log: ConversationLog | None):
        self.settings = settings
        self.index = index
        self.generator = generator
        self.log = log
        self._kb_version: str | None = None
        self.chain: Runnable = (
            RunnableLambda(self._prepare, name="prepare")
            | RunnableLambda(self._input_guard, name="input_guard")
            | RunnableLambda(self._semantic_cache, name="semantic_cache")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableGenerator(self._respond, name="respond")
        )

    # -- public API ---------------------------------------------------------------------------

    def stream(self, request: TurnRequest) -> Iterator[tuple[str, object]]:
        yield from self.chain.stream(request)

    def ask(self, request: TurnRequest) -> Turn:
        """Run a turn to completion and return it (used by `assistant ask` and the evals)."""
        for kind, payload in self.stream(request):
            if kind == "done":
                return payload
        raise RuntimeError("pipeline ended without a result")

    def kb_version(self) -> str:
        if self._kb_version is None:
            self._kb_version = self.index.version()
        return self._kb_version

    def knowledge_changed(self) -> None:
        """Call after ingesting, so turns log the new knowledge-base version."""
        self._kb_version = None

    # -- steps --------------------------------------------------------------------------------

    def _prepare(self, request: TurnRequest) -> _State:
        turn = Turn(
            question=request.question if isinstance(request.question, str) else "",
            conversation_id=request.conversation_id or new_id(),
            model=self.generator.name,
            adapter=self.generator.adapter,
            prompt_version=PROMPT_VERSION,
            kb_version=self.kb_version(),
            unverified=request.answer_anyway,
        )
        state = _State(request, turn, time.monotonic())
        try:
            question = clean_question(request.question, self.settings.max_question_chars)
        except EmptyQuestion as err:
            turn.refused, turn.reason, turn.answer = True, EMPTY_QUESTION, str(err)
            state.done = True
            return state
        turn.question = question.text
        turn.notices.extend(question.notices)
        return state

    def _input_guard(self, state: _State) -> _State:
        # Place of the guardrails-ai input guard (PII, secrets, injection): its decisions go
        # to turn.guard and the log's guard_json. No rules are configured yet.
        return state

    def _semantic_cache(self, state: _State) -> _State:
        # Place of the GPTCache lookup (hit -> serve the earlier answer, logged as cache_hit).
        # No cache is configured yet, so every turn is a miss.
        return state

    def _retrieve(self, state: _State) -> _State:
        if state.done:
            return state
        turn = state.turn
        hits = self.index.search(turn.question, k=self.settings.top_k)
        turn.passages = to_passages(hits)
        best = turn.passages[0] if turn.passages else None
        turn.searched_for = (
            f"Searched {self.index.count()} passages ({turn.kb_version}) for: "
            f"\u201c{turn.question[:200]}\u201d. Best match: "
            + (f"{best.source} \u203a {best.heading} (relevance {best.score:.2f}, "
               f"needed {self.settings.min_relevance:.2f})." if best else "none.")
        )
        if not has_evidence(turn.passages, self.settings.min_relevance) and not turn.unverified:
            turn.refused, turn.reason = True, NO_EVIDENCE
            turn.answer = REFUSAL_MESSAGES[NO_EVIDENCE]
            state.done = True
        return state

    def _respond(self, states: Iterator[_State]) -> Iterator[tuple[str, object]]:
        for state in states:
            if not state.done:
                yield from self._generate(state)
            yield ("done", self._finish(state))

    # -- helpers ------------------------------------------------------------------------------

    def _generate(self, state: _State) -> Iterator[tuple[str, object]]:
        turn = state.turn
        passages = (
            turn.passages if turn.unverified
            else evidence_passages(turn.passages, self.settings.min_relevance)
        )
        pieces: list[str] = []
        try:
            generation = self.generator.stream(
                build_messages(turn.question, passages), self.settings.max_new_tokens
            )
            generation.stop_event = state.request.stop_event
            for piece in generation:
                if turn.first_token_ms is None:
                    turn.first_token_ms = int((time.monotonic() - state.started) * 1000)
                pieces.append(piece)
                yield ("token", piece)
            turn.prompt_tokens = generation.prompt_tokens
            turn.completion_tokens = generation.completion_tokens
        except ModelUnavailable as err:
            turn.refused, turn.reason, turn.answer = True, MODEL_UNAVAILABLE, str(err)
            return
        except Exception as err:  # a broken generation must not take the app down
            turn.refused, turn.reason = True, GENERATION_FAILED
            turn.answer = f"{REFUSAL_MESSAGES[GENERATION_FAILED]} ({type(err).__name__}: {err})"
            return

        cited = resolve_citations("".join(pieces), passages)
        turn.answer, turn.citations = cited.text, cited.citations
        turn.invalid_citations = cited.invalid_count
        if cited.invalid_count:
            turn.notices.append(
                f"Removed {cited.invalid_count} citation marker(s) that pointed to no source."
            )
        if state.request.stop_event.is_set():
            turn.reason = STOPPED
            turn.notices.append("Stopped before the answer was complete.")
        elif MODEL_DECLINE_PHRASE in turn.answer.lower():
            turn.refused, turn.reason = True, NOT_IN_SOURCES
            turn.answer = REFUSAL_MESSAGES[NOT_IN_SOURCES]
            turn.citations = []
        elif not turn.answer:
            turn.refused, turn.reason = True, GENERATION_FAILED
            turn.answer = REFUSAL_MESSAGES[GENERATION_FAILED]
        else:
            turn.reason = ANSWERED
            if not turn.citations:
                turn.notices.append(
                    "This answer cites none of the sources: check it against the passages shown."
                )

    def _finish(self, state: _State) -> Turn:
        turn = state.turn
        turn.duration_ms = int((time.monotonic() - state.started) * 1000)
        if self.log is not None:
            try:
                turn.turn_id = self.log.record_turn(turn)
                turn.logged = True
            except LogUnavailable as err:
                turn.log_error = str(err)
        return turn
