"""What a written answer becomes: an answer, a low-confidence answer, a quote of the
sources, or a refusal; decided once the model has finished writing (pipeline.py streams it).

The output guard checks the answer sentence by sentence; one that fails may be asked for again
(the pipeline does that), and one that still fails is replaced by the source sentences that
answer the question, quoted, or else withheld with the reason.
"""

from __future__ import annotations

from assistant.citations import resolve_citations
from assistant.quoting import QUOTED_NOTICE, best_quotes, quoted_answer
from assistant.records import (
    ANSWERED,
    GENERATION_FAILED,
    NOT_IN_SOURCES,
    PATH_GENERATED,
    PATH_NONE,
    PATH_QUOTED,
    STAGE_FAILED,
    STOPPED,
    UNGROUNDED,
    Turn,
    refusal_sentence,
)

# What the system prompt tells the model to say when the sources lack the answer.
MODEL_DECLINE_PHRASE = "cannot find this in my sources"


def guard_entries(stage: str, decisions) -> list[dict]:
    """The guard's decisions as the turn logs them."""
    return [{"stage": stage, "validator": d.validator, "outcome": d.outcome,
             "action": d.action, "detail": d.detail} for d in decisions]


def settle_answer(turn: Turn, text: str, passages, guards, attempt: int, stopped: bool) -> bool:
    """Decide what the written text becomes (answer, low-confidence answer, quote or refusal)
    and write it into the turn; True asks the model once more."""
    cited = resolve_citations(text, passages)
    turn.answer, turn.citations = cited.text, cited.citations
    turn.invalid_citations = cited.invalid_count
    if stopped:
        turn.reason = STOPPED
        turn.answer_path = PATH_GENERATED if turn.answer else PATH_NONE
        turn.notices.append("Stopped before the answer was complete.")
        return False
    if MODEL_DECLINE_PHRASE in turn.answer.lower():
        turn.refused, turn.reason = True, NOT_IN_SOURCES
        turn.answer, turn.citations = refusal_sentence(NOT_IN_SOURCES), []
        return False
    if not turn.answer:
        turn.refused, turn.reason = True, GENERATION_FAILED
        turn.answer = refusal_sentence(GENERATION_FAILED)
        return False
    if guards is not None:
        verdict = _check_answer(guards, turn, text, passages, attempt)
        if verdict is None:
            return False
        turn.guard.extend(guard_entries("output", verdict.decisions))
        if verdict.needs_reask and attempt == 1:
            return True
        if verdict.refused and verdict.reason == UNGROUNDED and _quote(guards, turn, passages):
            return False
        if verdict.refused:
            turn.refused, turn.reason = True, verdict.reason or UNGROUNDED
            # The refusal says why once; the guard's own wording of it would repeat it.
            turn.answer = refusal_sentence(turn.reason, verdict.message)
            turn.citations = []
            return False
        cited = resolve_citations(verdict.text, passages)
        turn.answer, turn.citations = cited.text, cited.citations
        turn.low_confidence = verdict.low_confidence
        if verdict.message:
            turn.notices.append(verdict.message)
    if turn.invalid_citations:
        turn.notices.append(
            f"Removed {turn.invalid_citations} citation marker(s) that pointed to no source."
        )
    turn.reason, turn.answer_path = ANSWERED, PATH_GENERATED
    if not turn.citations:
        turn.low_confidence = True
        turn.notices.append(
            "This answer cites none of the sources: check it against the passages shown."
        )
    return False

def _check_answer(guards, turn: Turn, text: str, passages, attempt: int):
    """The output guard's verdict, or None when the check itself failed (the turn then
    says so, without the unchecked answer)."""
    try:
        return guards.check_output(text, passages, attempt=attempt,
                                        unverified=turn.unverified)
    except Exception as err:  # an unchecked answer is never shown
        turn.refused, turn.reason, turn.citations = True, STAGE_FAILED, []
        turn.answer = (f"{refusal_sentence(STAGE_FAILED)} It failed while checking the "
                       f"answer against its sources ({type(err).__name__}: {err}).")
        return None

def _quote(guards, turn: Turn, passages) -> bool:
    """Answer with the source sentences that answer the question, when there are any."""
    if guards is None or guards.embed_fn is None:
        return False
    quotes = best_quotes(turn.question, passages, guards.embed_fn)
    if not quotes:
        return False
    text, decisions, notes = guards.check_quote(quoted_answer(quotes), passages)
    turn.guard.extend(guard_entries("quote", decisions))
    if text is None:  # the sources' own words may not be shown either (policy)
        return False
    cited = resolve_citations(text, passages)
    turn.answer, turn.citations = cited.text, cited.citations
    turn.answer_path, turn.reason, turn.low_confidence = PATH_QUOTED, ANSWERED, False
    turn.notices += [QUOTED_NOTICE, *notes]
    return True
