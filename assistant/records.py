"""Plain data passed between the pipeline's steps, the log, the CLI and the UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, numbered as the prompt shows it to the model ([n])."""

    n: int
    chunk_id: str
    source: str
    heading: str
    text: str
    score: float
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    chunk_id: str
    heading: str
    score: float
    text: str

    @classmethod
    def of(cls, passage: Passage) -> Citation:
        return cls(passage.n, passage.source, passage.chunk_id, passage.heading,
                   passage.score, passage.text)

    def to_dict(self) -> dict:
        return asdict(self)


# Which path produced the text the user sees (the log's `answer_path` column).
PATH_GENERATED = "generated"  # the model's answer, checked sentence by sentence
PATH_QUOTED = "quoted"  # the model's answer failed the check; source sentences quoted instead
PATH_CACHE = "cache"  # an earlier checked answer to a similar question
PATH_NONE = "none"  # refused or stopped before any answer

# Reason codes: one per user-visible state of a turn (stored in the log's `reason` column).
ANSWERED = "ANSWERED"
NO_EVIDENCE = "NO_EVIDENCE"
EMPTY_QUESTION = "EMPTY_QUESTION"
MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
GENERATION_FAILED = "GENERATION_FAILED"
STOPPED = "STOPPED"
STAGE_FAILED = "STAGE_FAILED"  # the cache, retrieval or a guard failed; the turn is still logged
NOT_IN_SOURCES = "NOT_IN_SOURCES"  # the model itself said the passages lack the answer
SOURCES_ONLY = "SOURCES_ONLY"  # the user asked for the passages without a generated answer
# ... and the guards' (assistant/guards/verdicts.py uses these).
PROMPT_INJECTION = "PROMPT_INJECTION"
UNSAFE_INPUT = "UNSAFE_INPUT"
UNGROUNDED = "UNGROUNDED"
PII_IN_OUTPUT = "PII_IN_OUTPUT"
SYSTEM_PROMPT_LEAK = "SYSTEM_PROMPT_LEAK"
INVALID_CITATIONS = "INVALID_CITATIONS"
UNSAFE_OUTPUT = "UNSAFE_OUTPUT"
ANSWER_TOO_LONG = "ANSWER_TOO_LONG"
EMPTY_ANSWER = "EMPTY_ANSWER"


@dataclass(frozen=True)
class Refusal:
    title: str  # the heading of the refusal box
    sentence: str  # what the assistant says (the turn's answer)


# The one table of what a turn that gives no answer says, for the CLI, the UI and the guards.
REFUSALS = {
    NO_EVIDENCE: Refusal("Not answered: nothing reliable in my sources",
                         "I found nothing reliable in my sources to answer this."),
    EMPTY_QUESTION: Refusal("Nothing to answer", "Please type a question."),
    MODEL_UNAVAILABLE: Refusal("Not answered: the language model is unavailable",
                               "The language model is not available, so I cannot write an "
                               "answer."),
    GENERATION_FAILED: Refusal("Not answered: the model failed",
                               "Something went wrong while writing the answer."),
    STAGE_FAILED: Refusal("Not answered: a step of the turn failed",
                          "Something went wrong, so there is no answer to show."),
    NOT_IN_SOURCES: Refusal("Not answered: the sources do not say",
                            "The passages I found do not contain the answer to this question."),
    SOURCES_ONLY: Refusal("Sources only",
                          "Here are the passages I found; as you asked, no answer was "
                          "generated."),
    PROMPT_INJECTION: Refusal("Not processed: looks like an attempt to override my "
                              "instructions",
                              "This message looks like an attempt to change my instructions or "
                              "reveal my configuration, so I did not process it."),
    UNSAFE_INPUT: Refusal("Not processed: abusive or harmful request",
                          "I can't help with this message because it contains abusive language "
                          "or asks for harmful instructions."),
    UNGROUNDED: Refusal("Withheld: the answer was not supported by the sources",
                        "I could not write an answer that my sources support, so I am not "
                        "giving one."),
    PII_IN_OUTPUT: Refusal("Withheld: the answer contained personal data",
                           "The answer contained personal data or secrets, so I withheld it."),
    SYSTEM_PROMPT_LEAK: Refusal("Withheld: the answer repeated internal instructions",
                                "The answer repeated my internal instructions, so I withheld "
                                "it."),
    INVALID_CITATIONS: Refusal("Withheld: the citations pointed to no source",
                               "The answer's citations pointed to no source, so I withheld it."),
    UNSAFE_OUTPUT: Refusal("Withheld: the answer contained active web content",
                           "The answer contained active web content, so I withheld it."),
    ANSWER_TOO_LONG: Refusal("Withheld: the answer was far too long",
                             "The answer was far longer than allowed, so I withheld it."),
    EMPTY_ANSWER: Refusal("Not answered: the model wrote nothing",
                          "The answer came back empty."),
}
REFUSAL_MESSAGES = {reason: refusal.sentence for reason, refusal in REFUSALS.items()}



@dataclass
class Turn:
    """Everything one question produced; what gets logged and shown."""

    question: str
    conversation_id: str
    answer: str = ""
    refused: bool = False
    reason: str = ANSWERED
    passages: list[Passage] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    invalid_citations: int = 0
    unverified: bool = False
    notices: list[str] = field(default_factory=list)
    searched_for: str = ""
    cache_hit: bool = False
    cache_similarity: float | None = None
    cached_from_turn_id: str | None = None
    guard: list[dict] = field(default_factory=list)  # {stage, validator, outcome, action, detail}
    low_confidence: bool = False
    reasked: bool = False
    answer_path: str = PATH_NONE
    model: str = ""
    adapter: str | None = None
    prompt_version: str = ""
    kb_version: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_ms: int = 0
    first_token_ms: int | None = None
    turn_id: str | None = None
    logged: bool = False
    log_error: str | None = None

    def to_json(self) -> dict:
        return {
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "refused": self.refused,
            "reason": self.reason,
            "unverified": self.unverified,
            "invalid_citations_removed": self.invalid_citations,
            "notices": self.notices,
            "searched_for": self.searched_for,
            "retrieved": [p.to_dict() for p in self.passages],
            "cache_hit": self.cache_hit,
            "cache_similarity": self.cache_similarity,
            "cached_from_turn_id": self.cached_from_turn_id,
            "guard": self.guard,
            "low_confidence": self.low_confidence,
            "reasked": self.reasked,
            "answer_path": self.answer_path,
            "turn_id": self.turn_id,
            "conversation_id": self.conversation_id,
            "model": self.model,
            "adapter": self.adapter,
            "prompt_version": self.prompt_version,
            "kb_version": self.kb_version,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "timings_ms": {"total": self.duration_ms, "first_token": self.first_token_ms},
            "logged": self.logged,
            "log_error": self.log_error,
        }
