"""Schema of logs.db. Append-only: a shipped migration is never edited; a later one fixes it."""

from sqlite_utils import Migrations

migrations = Migrations("assistant")


@migrations()
def m001_initial(db):
    db["conversations"].create(
        {"id": str, "title": str, "datetime_utc": str}, pk="id"
    )
    db["turns"].create(
        {
            "id": str,
            "conversation_id": str,
            "datetime_utc": str,
            "question": str,
            "answer": str,
            "refused": int,
            "reason": str,
            "unverified": int,
            "citations_json": str,
            "retrieved_json": str,
            "invalid_citations": int,
            "notices_json": str,
            "searched_for": str,
            "cache_hit": int,
            "cache_similarity": float,
            "cached_from_turn_id": str,
            "guard_json": str,
            "model": str,
            "adapter": str,
            "prompt_version": str,
            "kb_version": str,
            "duration_ms": int,
            "first_token_ms": int,
            "prompt_tokens": int,
            "completion_tokens": int,
        },
        pk="id",
        foreign_keys=[("conversation_id", "conversations", "id")],
    )
    db["turns"].create_index(["conversation_id"])
    db["turns"].create_index(["datetime_utc"])
    db["turns"].enable_fts(["question", "answer"], create_triggers=True)
    db["feedback"].create(
        {
            "id": int,
            "turn_id": str,
            "rating": str,  # "up" or "down"
            "reason": str,  # wrong sources | wrong answer | unsafe | other
            "correction": str,
            "datetime_utc": str,
        },
        pk="id",
        foreign_keys=[("turn_id", "turns", "id")],
    )
    db["feedback"].create_index(["turn_id"])


@migrations()
def m002_guard_decisions_and_confidence(db):
    # One row per guard decision: which validator, what it found, what was done about it.
    db["guard_decisions"].create(
        {
            "id": int,
            "turn_id": str,
            "stage": str,  # input | output | passage
            "validator": str,
            "outcome": str,  # pass | fail
            "action": str,  # none | redact | reask | drop_sentences | refuse | escape
            "detail": str,
        },
        pk="id",
        foreign_keys=[("turn_id", "turns", "id")],
    )
    db["guard_decisions"].create_index(["turn_id"])
    db["turns"].add_column("low_confidence", int)
    db["turns"].add_column("reasked", int)


@migrations()
def m003_answer_path(db):
    # generated | quoted | cache | none: which path produced the answer the user saw.
    db["turns"].add_column("answer_path", str)


@migrations()
def m004_users(db):
    # Who asked (the login name, when the app runs with logins); null in single-user mode.
    db["conversations"].add_column("user", str)
    db["turns"].add_column("user", str)
    db["turns"].create_index(["user"])
