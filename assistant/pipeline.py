"""One turn, end to end, shared by the UI, the CLI and evals.

    prepare -> input guard -> semantic cache -> retrieve -> generate, check, cite -> log

all in Pipeline.stream, a plain generator read top to bottom.

The stream yields ("token", text) while the answer is written, then ("done", Turn). A stage
that fails, a Stop, or a consumer that stops reading still leaves a logged turn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from assistant.base_models import ModelUnavailable
from assistant.config import Settings
from assistant.log import ConversationLog, LogUnavailable, new_id
from assistant.prompt import build_messages, prompt_version
from assistant.question import EmptyQuestion, clean_question, search_text
from assistant.records import (
    ANSWERED,
    EMPTY_QUESTION,
    GENERATION_FAILED,
    MODEL_UNAVAILABLE,
    NO_EVIDENCE,
    PATH_CACHE,
    PATH_GENERATED,
    PATH_NONE,
    SOURCES_ONLY,
    STAGE_FAILED,
    STOPPED,
    Citation,
    Passage,
    Turn,
    from_dict,
    refusal_sentence,
)
from assistant.retrieval import evidence_passages, has_evidence, to_passages
from assistant.settle import guard_entries, settle_answer
from assistant.yes_no import is_yes_no_question


@dataclass
class TurnRequest:
    question: str
    conversation_id: str | None = None
    answer_anyway: bool = False  # the user chose "answer anyway (unverified)"
    use_cache: bool = True  # False: "ask again, fresh", and eval replays
    sources_only: bool = False  # the user chose "show sources only": retrieve, don't generate
    user: str | None = None  # the login name, when the app runs with logins
    refusal: str | None = None  # decided before the turn (RATE_LIMITED): logged, not run
    stop_event: threading.Event = field(default_factory=threading.Event)


@dataclass
class _State:
    request: TurnRequest
    turn: Turn
    started: float
    done: bool = False  # a step already decided the outcome (e.g. empty question)
    partial: list[str] = field(default_factory=list)  # the answer streamed so far


def _stage(what: str, step):
    """Run a step unless the turn is decided; an error fails the turn at this named stage
    (shown and logged) instead of losing it."""

    def run(state: _State) -> _State:
        if state.done:
            return state
        try:
            return step(state)
        except Exception as err:  # a broken stage must not lose the user's question
            turn = state.turn
            turn.refused, turn.reason = True, STAGE_FAILED
            turn.answer = (f"{refusal_sentence(STAGE_FAILED)} It failed while {what} "
                           f"({type(err).__name__}: {err}). Your question was kept in the log.")
            state.done = True
            return state

    return run


class Pipeline:
    def __init__(self, settings: Settings, index, generator, log: ConversationLog | None,
                 guards=None, cache=None):
        self.settings = settings
        self.index = index
        self.generator = generator
        self.log = log
        self.guards = guards  # assistant.guards.Guards, or None: no input/output checks
        self.cache = cache  # assistant.semantic_cache.SemanticCache, or None: no caching
        self._kb_version: str | None = None
        # The steps before the answer, in order; each fails its turn by name instead of
        # losing it (LangChain serves inside them: the Chroma retriever, the embeddings).
        self.steps = [
            _stage("checking your question", self._input_guard),
            self._refuse_as_decided,
            _stage("looking up the cache", self._semantic_cache),
            _stage("searching the sources", self._retrieve),
        ]

    # -- public API ---------------------------------------------------------------------------

    def stream(self, request: TurnRequest) -> Iterator[tuple[str, object]]:
        """("token", text) while the answer is written, ("reset", why) before a second
        attempt, then ("done", Turn). The turn is logged however the stream ends: finished,
        stopped, or abandoned by its consumer (a closed tab), with what was written so far."""
        state = self._prepare(request)
        for step in self.steps:
            state = step(state)
        finished = False
        try:
            if not state.done:
                yield from self._generate(state)
            turn = self._finish(state)
            finished = True
            yield ("done", turn)
        finally:
            if not finished:
                self._abandon(state)

    def ask(self, request: TurnRequest) -> Turn:
        """Run a turn to completion and return it (used by `assistant ask` and the evals)."""
        for kind, payload in self.stream(request):
            if kind == "done":
                return payload
        raise RuntimeError("pipeline ended without a result")

    def kb_version(self) -> str:
        """Read on every turn, so an ingest in another shell is seen by the next question;
        when it changed, the cache entries of every other scope are dropped."""
        try:
            version = self.index.version()
        except Exception:  # e.g. a Chroma server gone: the search stage then fails by name
            return self._kb_version or "unavailable"
        if version != self._kb_version:
            previous, self._kb_version = self._kb_version, version
            if previous is not None and self.cache is not None:
                self._prune_cache()
        return version

    def _prune_cache(self) -> None:
        from assistant.semantic_cache import CacheWriteError

        try:
            self.cache.prune(keep=self.cache_scope())
        except (CacheWriteError, OSError):
            pass  # the cache is an optimisation; old scopes are unreachable anyway

    # -- steps --------------------------------------------------------------------------------

    def _prepare(self, request: TurnRequest) -> _State:
        turn = Turn(
            question=request.question if isinstance(request.question, str) else "",
            conversation_id=request.conversation_id or new_id(),
            model=self.generator.name,
            adapter=self.generator.adapter,
            prompt_version=prompt_version(self.settings.source_chars),
            kb_version=self.kb_version(),
            unverified=request.answer_anyway,
            user=request.user,
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
        """PII and secrets redacted before the cache, the model and the log see the question;
        injection attempts and abuse refused with a visible reason."""
        if state.done or self.guards is None:
            return state
        turn = state.turn
        verdict = self.guards.check_input(turn.question)
        turn.guard.extend(guard_entries("input", verdict.decisions))
        turn.question = verdict.text
        if verdict.blocked:
            turn.refused, turn.reason = True, verdict.reason
            turn.answer = verdict.message or refusal_sentence(verdict.reason)
            state.done = True
        elif verdict.message:
            turn.notices.append(verdict.message)
        return state

    @staticmethod
    def _refuse_as_decided(state: _State) -> _State:
        """A refusal decided before the turn (RATE_LIMITED): logged like any turn, after the
        input guard has redacted the question, and nothing else runs."""
        reason = state.request.refusal
        if not state.done and reason:
            turn = state.turn
            turn.refused, turn.reason, turn.answer = True, reason, refusal_sentence(reason)
            state.done = True
        return state

    def cache_scope(self):
        from assistant.semantic_cache import CacheScope

        return CacheScope(kb_version=self.kb_version(), model=self.generator.name,
                          adapter=self.generator.adapter,
                          prompt_version=prompt_version(self.settings.source_chars),
                          guard_version=self._guard_version())

    def _guard_version(self) -> str:
        if self.guards is None:
            return "none"
        from assistant.guards.guards import GUARD_RULES_VERSION

        return GUARD_RULES_VERSION

    def _semantic_cache(self, state: _State) -> _State:
        """A similar enough earlier question (same knowledge base, model, adapter, prompt and
        guard rules) is answered with the earlier answer and its citations."""
        turn = state.turn
        if (state.done or self.cache is None or not state.request.use_cache or turn.unverified
                or state.request.sources_only):
            return state
        hit = self.cache.lookup(search_text(turn.question), self.cache_scope())
        if hit is None:
            return state
        turn.cache_hit, turn.cache_similarity = True, round(hit.similarity, 4)
        turn.answer_path = PATH_CACHE
        turn.cached_from_turn_id = hit.turn_id
        turn.answer = hit.answer
        turn.citations = [from_dict(Citation, c) for c in hit.citations]
        turn.passages = [
            Passage(c.n, c.chunk_id, c.source, c.heading, c.text, c.score, 0, 0)
            for c in turn.citations
        ]
        turn.searched_for = (f"Served from the cache: an earlier answer to \u201c{hit.question}"
                             f"\u201d (similarity {hit.similarity:.2f}).")
        state.done = True
        return state

    def _retrieve(self, state: _State) -> _State:
        if state.done:
            return state
        turn = state.turn
        hits = self.index.search(search_text(turn.question), k=self.settings.top_k)
        turn.passages = to_passages(hits)
        if self.guards is not None:  # instructions planted in documents never reach the model
            cleaned = []
            for passage in turn.passages:
                passage, decisions = self.guards.clean_retrieved(passage)
                turn.guard.extend(guard_entries("passage", decisions))
                cleaned.append(passage)
            turn.passages = cleaned
        best = turn.passages[0] if turn.passages else None
        turn.searched_for = (
            f"Searched {self.index.count()} passages ({turn.kb_version}) for: "
            f"\u201c{turn.question[:200]}\u201d. Best match: "
            + (f"{best.source} \u203a {best.heading} (relevance {best.score:.2f}, "
               f"needed {self.settings.min_relevance:.2f})." if best else "none.")
        )
        if state.request.sources_only:
            turn.reason, turn.answer = SOURCES_ONLY, refusal_sentence(SOURCES_ONLY)
            state.done = True
        elif (not has_evidence(turn.passages, self.settings.min_relevance, turn.question)
              and not turn.unverified):
            turn.refused, turn.reason = True, NO_EVIDENCE
            turn.answer = refusal_sentence(NO_EVIDENCE)
            state.done = True
        return state

    def _abandon(self, state: _State) -> None:
        """The consumer stopped reading mid-answer: stop the model and log the partial turn."""
        state.request.stop_event.set()
        turn = state.turn
        turn.answer = "".join(state.partial).strip() or turn.answer
        turn.reason, turn.citations = STOPPED, []
        turn.answer_path = PATH_GENERATED if turn.answer else PATH_NONE
        turn.notices.append("The answer was abandoned before it was complete (the page was "
                            "closed or the connection lost).")
        self._finish(state)

    # -- helpers ------------------------------------------------------------------------------

    def _generate(self, state: _State) -> Iterator[tuple[str, object]]:
        turn = state.turn
        # Unverified ("answer anyway"): sources that pass the bar are still used and cited;
        # without any, the model answers from its own knowledge.
        passages = evidence_passages(turn.passages, self.settings.min_relevance, turn.question)
        attempt = 1
        while True:
            text = yield from self._stream_answer(state, passages, strict=attempt > 1)
            if text is None:  # the model failed; turn already says why
                return
            stopped = state.request.stop_event.is_set()
            if not settle_answer(turn, text, passages, self.guards, attempt, stopped):
                return
            attempt += 1
            turn.reasked = True
            yield ("reset", "The first answer failed a check; asking the model once more.")

    def _stream_answer(self, state: _State, passages, strict: bool):
        """Stream one answer; returns its text, or None when generation failed."""
        turn = state.turn
        pieces = state.partial
        pieces.clear()
        generation = None
        try:
            generation = self.generator.stream(
                build_messages(turn.question, passages, strict=strict,
                               max_chars=self.settings.source_chars,
                               unverified=turn.unverified and not passages),
                self.settings.max_new_tokens,
                yes_no=is_yes_no_question(turn.question),
            )
            generation.stop_event = state.request.stop_event
            for piece in generation:
                if turn.first_token_ms is None:
                    turn.first_token_ms = int((time.monotonic() - state.started) * 1000)
                pieces.append(piece)
                yield ("token", piece)
            turn.prompt_tokens += generation.prompt_tokens
            turn.completion_tokens += generation.completion_tokens
        except ModelUnavailable as err:
            turn.refused, turn.reason, turn.answer = True, MODEL_UNAVAILABLE, str(err)
            return None
        except Exception as err:  # a broken generation must not take the app down
            turn.refused, turn.reason = True, GENERATION_FAILED
            turn.answer = f"{refusal_sentence(GENERATION_FAILED)} ({type(err).__name__}: {err})"
            return None
        finally:  # frees the model at once, also when the consumer abandons the stream
            close = getattr(getattr(generation, "pieces", None), "close", None)
            if close is not None:
                close()
        return "".join(pieces)

    def _finish(self, state: _State) -> Turn:
        turn = state.turn
        turn.duration_ms = int((time.monotonic() - state.started) * 1000)
        if self.log is not None:
            try:
                turn.turn_id = self.log.record_turn(turn)
                turn.logged = True
            except LogUnavailable as err:
                turn.log_error = str(err)
        if self._cacheable(state):
            from assistant.semantic_cache import CacheWriteError

            try:
                self.cache.store(search_text(turn.question), self.cache_scope(), turn.turn_id,
                                 turn.answer,
                                 [c.to_dict() for c in turn.citations])
            except CacheWriteError:
                pass  # the cache is an optimisation: the answer is logged and shown anyway
        return turn

    def _cacheable(self, state: _State) -> bool:
        """Only logged, guard-passing, cited, generated answers; never refusals, quotes (a retry
        may do better), unverified, stopped or low-confidence ones (and thumbs-down evicts,
        see record_feedback)."""
        turn = state.turn
        return (self.cache is not None and turn.logged and turn.answer_path == PATH_GENERATED
                and turn.reason == ANSWERED and not turn.unverified
                and not turn.low_confidence and bool(turn.citations))

    def record_feedback(self, turn_id: str, rating: str, reason: str | None = None,
                        correction: str | None = None, user: str | None = None) -> None:
        """Store a rating; a thumbs-down also evicts the answer from the semantic cache."""
        from assistant.feedback import record_feedback

        if self.log is None:
            raise LogUnavailable("No conversation log is configured; feedback not saved.")
        record_feedback(self.log, self.cache, turn_id, rating, reason, correction, user=user)
