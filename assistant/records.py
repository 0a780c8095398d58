"""Plain data passed between the pipeline's steps, the log, the CLI and the UI."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any


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
RATE_LIMITED = "RATE_LIMITED"  # the user sent questions faster than the app allows
# ... and the guards' (assistant/guards/guards.py uses these).
PROMPT_INJECTION = "PROMPT_INJECTION"
UNSAFE_INPUT = "UNSAFE_INPUT"
SELF_HARM = "SELF_HARM"  # the message says its writer may harm themselves
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
    RATE_LIMITED: Refusal("Not answered: too many questions at once",
                          "You are sending questions faster than this assistant allows; "
                          "please wait a moment and ask again."),
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
    SELF_HARM: Refusal("You don't have to go through this alone",
                       "I'm really sorry you're feeling this way. I can't help with that, but "
                       "you deserve support right now: please reach out to someone you trust, "
                       "or call a crisis line or your local emergency number. If you are in "
                       "immediate danger, call your local emergency number now."),
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


def refusal_sentence(reason: str, otherwise: str = "") -> str:
    """What the assistant says for this reason code (`otherwise` for a code without one)."""
    refusal = REFUSALS.get(reason)
    return refusal.sentence if refusal else otherwise


def from_dict(cls, data: dict):
    """An instance of a record class from a dict written by any version: unknown keys are
    dropped, and a field the writer did not have yet takes its zero value."""
    zero = {"int": 0, "float": 0.0, "str": ""}
    known = {f.name: f for f in fields(cls)}
    values = {name: data[name] for name in known if name in data}
    for name, spec in known.items():
        if name not in values and spec.default is MISSING:
            values[name] = zero.get(str(spec.type).split(" |")[0], None)
    return cls(**values)


@dataclass(frozen=True)
class Codec:
    """How a Turn field is stored in its log column and read back."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


PLAIN = Codec(lambda value: value, lambda stored: stored)
FLAG = Codec(int, bool)
JSON = Codec(json.dumps, json.loads)
PASSAGES = Codec(lambda ps: json.dumps([p.to_dict() for p in ps]),
                 lambda stored: [from_dict(Passage, p) for p in json.loads(stored)])
CITATIONS = Codec(lambda cs: json.dumps([c.to_dict() for c in cs]),
                  lambda stored: [from_dict(Citation, c) for c in json.loads(stored)])


def _turn_field(default=MISSING, *, factory=MISSING, column: str | None = "", codec=PLAIN,
                json_key: str = ""):
    """A Turn field with where it goes: its log column ("" = the field's name, None = not
    logged), how it is stored there, and its key in `ask --json` ("a.b" nests)."""
    metadata = {"column": column, "codec": codec, "json_key": json_key}
    return field(default=default, default_factory=factory, metadata=metadata)


@dataclass
class Turn:
    """Everything one question produced: what gets logged, printed as JSON and reopened. Each
    field says where it is stored; the log row, the JSON and the reopening derive from that."""

    question: str
    conversation_id: str
    answer: str = ""
    refused: bool = _turn_field(False, codec=FLAG)
    reason: str = ANSWERED
    passages: list[Passage] = _turn_field(factory=list, column="retrieved_json",
                                          codec=PASSAGES, json_key="retrieved")
    citations: list[Citation] = _turn_field(factory=list, column="citations_json",
                                            codec=CITATIONS)
    invalid_citations: int = _turn_field(0, json_key="invalid_citations_removed")
    unverified: bool = _turn_field(False, codec=FLAG)
    notices: list[str] = _turn_field(factory=list, column="notices_json", codec=JSON)
    searched_for: str = ""
    cache_hit: bool = _turn_field(False, codec=FLAG)
    cache_similarity: float | None = None
    cached_from_turn_id: str | None = None
    # {stage, validator, outcome, action, detail}; also one row each in guard_decisions
    guard: list[dict] = _turn_field(factory=list, column="guard_json", codec=JSON)
    low_confidence: bool = _turn_field(False, codec=FLAG)
    reasked: bool = _turn_field(False, codec=FLAG)
    answer_path: str = PATH_NONE
    model: str = ""
    adapter: str | None = None
    prompt_version: str = ""
    kb_version: str = ""
    prompt_tokens: int = _turn_field(0, json_key="tokens.prompt")
    completion_tokens: int = _turn_field(0, json_key="tokens.completion")
    duration_ms: int = _turn_field(0, json_key="timings_ms.total")
    first_token_ms: int | None = _turn_field(None, json_key="timings_ms.first_token")
    user: str | None = None  # the login name when the app runs with logins
    turn_id: str | None = _turn_field(None, column="id")
    logged: bool = _turn_field(False, column=None)
    log_error: str | None = _turn_field(None, column=None)

    def to_json(self) -> dict:
        """The `ask --json` object."""
        out: dict = {}
        for spec in fields(self):
            *parents, key = (spec.metadata.get("json_key") or spec.name).split(".")
            target = out
            for parent in parents:
                target = target.setdefault(parent, {})
            value = getattr(self, spec.name)
            target[key] = [v.to_dict() for v in value] if spec.name in RECORD_LISTS else value
        return out

    def to_row(self) -> dict:
        """The log's `turns` row, without the id and the time (the log assigns them)."""
        return {column: codec.encode(getattr(self, name))
                for name, column, codec in logged_columns() if column != "id"}

    @classmethod
    def from_row(cls, row: dict) -> Turn:
        """The turn a logged row records, from a row of any version of the log: a column that
        did not exist yet (or is empty) gives the field's default."""
        values = {name: codec.decode(row[column]) for name, column, codec in logged_columns()
                  if row.get(column) is not None}
        if "answer_path" not in values:
            values["answer_path"] = _older_answer_path(row)
        return cls(**values, logged=True)


RECORD_LISTS = {"passages", "citations"}


def logged_columns() -> list[tuple[str, str, Codec]]:
    """(field, log column, codec) of every Turn field that the log stores."""
    columns = []
    for spec in fields(Turn):
        column = spec.metadata.get("column", "")
        if column is not None:
            columns.append((spec.name, column or spec.name, spec.metadata.get("codec", PLAIN)))
    return columns


def _older_answer_path(row: dict) -> str:
    """Rows written before the answer path was logged: infer it from what they do record."""
    if row.get("cache_hit"):
        return PATH_CACHE
    return PATH_NONE if row.get("refused") or not row.get("answer") else PATH_GENERATED
