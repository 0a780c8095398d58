"""assistant.log.ConversationLog on a real SQLite file: schema, writes, search, export, locks."""

import dataclasses
import io
import json
import sqlite3

import pytest

import assistant.log as log_module
from assistant.log import ConversationLog, LogUnavailable
from assistant.records import NO_EVIDENCE, Citation, Passage, Turn


def _passage(n: int, source: str = "leave.md") -> Passage:
    return Passage(n=n, chunk_id=f"abc-{n:04d}", source=source, heading="Handbook > Leave",
                   text=f"You get 25 days of paid leave (passage {n}).", score=0.8 - n / 10,
                   start=10 * n, end=10 * n + 40)


def make_turn(question="How many days of leave do I get?", conversation_id="conv-1",
              answer="You get 25 days of paid leave [1].", **changes) -> Turn:
    passages = [_passage(1), _passage(2, source="expenses.md")]
    values = dict(
        question=question,
        conversation_id=conversation_id,
        answer=answer,
        passages=passages,
        citations=[Citation.of(passages[0])],
        invalid_citations=1,
        notices=["1 control or invalid character(s) were removed."],
        searched_for="days of leave",
        cache_hit=True,
        cache_similarity=0.97,
        guard=[{"validator": "no_pii", "passed": True}],
        model="tiny-model",
        adapter="support-v1",
        prompt_version="p3",
        kb_version="kb-0123456789ab",
        prompt_tokens=321,
        completion_tokens=45,
        duration_ms=1234,
        first_token_ms=210,
    )
    values.update(changes)
    return Turn(**values)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "logs" / "logs.db"


@pytest.fixture
def log(db_path):
    return ConversationLog(db_path)


def _raw(db_path):
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    return conn


# -- schema ----------------------------------------------------------------------------------


def test_migrations_create_tables_and_wal_mode(log, db_path):
    conn = _raw(db_path)
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"conversations", "turns", "feedback", "turns_fts"} <= tables
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reopening_applies_no_migration_twice(log, db_path):
    log.record_turn(make_turn(turn_id="t1"))
    ConversationLog(db_path)
    ConversationLog(db_path)
    conn = _raw(db_path)
    names = [r[0] for r in conn.execute("select name from _sqlite_migrations")]
    conn.close()
    assert names, "migrations are recorded"
    assert len(names) == len(set(names))
    assert ConversationLog(db_path).turn("t1") is not None


# -- writing ---------------------------------------------------------------------------------


def test_record_turn_stores_every_column(log, db_path):
    turn = make_turn()
    turn.cached_from_turn_id = "earlier-turn"
    turn_id = log.record_turn(turn)
    assert turn_id
    row = log.turn(turn_id)
    assert row["id"] == turn_id
    assert row["conversation_id"] == "conv-1"
    assert row["datetime_utc"].endswith("+00:00")
    assert row["question"] == turn.question
    assert row["answer"] == turn.answer
    assert row["refused"] == 0 and row["unverified"] == 0
    assert row["reason"] == "ANSWERED"
    assert json.loads(row["citations_json"]) == [c.to_dict() for c in turn.citations]
    assert json.loads(row["retrieved_json"]) == [p.to_dict() for p in turn.passages]
    assert json.loads(row["notices_json"]) == turn.notices
    assert json.loads(row["guard_json"]) == turn.guard
    assert row["invalid_citations"] == 1
    assert row["searched_for"] == "days of leave"
    assert row["cache_hit"] == 1
    assert row["cache_similarity"] == pytest.approx(0.97)
    assert row["cached_from_turn_id"] == "earlier-turn"
    assert (row["model"], row["adapter"], row["prompt_version"], row["kb_version"]) == (
        "tiny-model", "support-v1", "p3", "kb-0123456789ab")
    assert (row["duration_ms"], row["first_token_ms"]) == (1234, 210)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (321, 45)
    assert row["feedback"] == []


def test_record_turn_keeps_a_given_turn_id_and_generates_unique_ones(log):
    assert log.record_turn(make_turn(turn_id="fixed-id")) == "fixed-id"
    ids = {log.record_turn(make_turn()) for _ in range(20)}
    assert len(ids) == 20


def test_refused_turn_with_nulls(log):
    turn_id = log.record_turn(Turn(question="?", conversation_id="c", refused=True,
                                   reason=NO_EVIDENCE, unverified=True))
    row = log.turn(turn_id)
    assert (row["refused"], row["unverified"], row["reason"]) == (1, 1, NO_EVIDENCE)
    assert row["adapter"] is None and row["cache_similarity"] is None
    assert row["first_token_ms"] is None


def test_conversations_counts_turns(log):
    for i in range(3):
        log.record_turn(make_turn(question=f"first conversation {i}", conversation_id="a"))
    log.record_turn(make_turn(question="second conversation", conversation_id="b"))
    by_id = {c["id"]: c for c in log.conversations()}
    assert by_id["a"]["turns"] == 3
    assert by_id["b"]["turns"] == 1
    assert by_id["a"]["title"] == "first conversation 0"  # title from the first question
    assert [t["question"] for t in log.turns("a")] == [f"first conversation {i}" for i in range(3)]


def test_conversation_title_is_truncated_to_80_characters(log):
    log.record_turn(make_turn(question="q" * 200, conversation_id="long"))
    (conversation,) = log.conversations()
    assert conversation["title"] == "q" * 80


def test_failed_turn_insert_leaves_no_orphan_conversation(log):
    log.record_turn(make_turn(turn_id="dup", conversation_id="first"))
    with pytest.raises(LogUnavailable):
        log.record_turn(make_turn(turn_id="dup", conversation_id="second"))
    assert [c["id"] for c in log.conversations()] == ["first"]


# -- feedback --------------------------------------------------------------------------------


def test_record_feedback_validates_rating_and_reason(log):
    turn_id = log.record_turn(make_turn())
    with pytest.raises(ValueError, match="rating"):
        log.record_feedback(turn_id, "meh")
    with pytest.raises(ValueError, match="rating"):
        log.record_feedback(turn_id, "UP")
    with pytest.raises(ValueError, match="reason"):
        log.record_feedback(turn_id, "down", reason="boring")
    assert log.feedback() == []


def test_record_feedback_for_unknown_turn(log):
    log.record_turn(make_turn())
    with pytest.raises(LogUnavailable, match="no-such-turn"):
        log.record_feedback("no-such-turn", "up")
    assert log.feedback() == []


def test_several_feedback_rows_per_turn(log):
    turn_id = log.record_turn(make_turn())
    first = log.record_feedback(turn_id, "up")
    second = log.record_feedback(turn_id, "down", reason="wrong sources",
                                 correction="  See the leave policy.  ")
    third = log.record_feedback(turn_id, "down", reason="other", correction="   ")
    assert first < second < third
    feedback = log.turn(turn_id)["feedback"]
    assert [(f["id"], f["rating"], f["reason"], f["correction"]) for f in feedback] == [
        (first, "up", None, None),
        (second, "down", "wrong sources", "See the leave policy."),
        (third, "down", "other", None),
    ]
    assert all(f["turn_id"] == turn_id for f in feedback)
    assert len(log.feedback()) == 3


# -- search ----------------------------------------------------------------------------------


@pytest.fixture
def searchable(log):
    ids = {
        "leave": log.record_turn(make_turn(question="How many holidays do I get?",
                                           answer="You get 25 days of paid leave [1].")),
        "expenses": log.record_turn(make_turn(question="Where do receipts go?",
                                              answer="Upload receipts to the expenses portal.")),
    }
    return log, ids


def test_search_finds_words_in_question_and_in_answer(searchable):
    log, ids = searchable
    assert [r["id"] for r in log.search("holidays")] == [ids["leave"]]
    assert [r["id"] for r in log.search("portal")] == [ids["expenses"]]
    assert {r["id"] for r in log.search("receipts")} == {ids["expenses"]}
    assert log.search("nonexistentword") == []


@pytest.mark.parametrize(
    "query",
    ['"', '"holidays', 'holidays"', "holidays*", "*", "AND", "holidays AND", "OR holidays",
     "-", "-holidays", "NOT", "holidays NEAR(", "(", ")", "'", ":", "^holidays", "col:x", ""],
)
def test_search_survives_fts_syntax_characters(searchable, query):
    log, _ = searchable
    assert isinstance(log.search(query), list)


def test_search_with_syntax_characters_still_matches_the_words(searchable):
    log, ids = searchable
    assert [r["id"] for r in log.search('"holidays')] == [ids["leave"]]
    assert [r["id"] for r in log.search("paid-leave")] == [ids["leave"]]
    assert [r["id"] for r in log.search("portal -")] == [ids["expenses"]]


# -- export and rebuild ----------------------------------------------------------------------


def test_export_jsonl_one_object_per_turn_with_decoded_json_and_feedback(log):
    first = log.record_turn(make_turn(question="first"))
    second = log.record_turn(make_turn(question="second", conversation_id="conv-2"))
    log.record_feedback(first, "down", reason="wrong answer", correction="Actually 30 days.")
    log.record_feedback(first, "up")
    out = io.StringIO()
    assert log.export_jsonl(out) == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    rows = [json.loads(line) for line in lines]
    assert [r["id"] for r in rows] == [first, second]
    row = rows[0]
    assert not [key for key in row if key.endswith("_json")]
    turn = make_turn()
    assert row["citations"] == [c.to_dict() for c in turn.citations]
    assert row["retrieved"] == [p.to_dict() for p in turn.passages]
    assert row["notices"] == turn.notices
    assert row["guard"] == turn.guard
    assert [(f["rating"], f["reason"], f["correction"]) for f in row["feedback"]] == [
        ("down", "wrong answer", "Actually 30 days."), ("up", None, None)]
    assert rows[1]["feedback"] == []


def test_export_jsonl_empty_log(log):
    out = io.StringIO()
    assert log.export_jsonl(out) == 0
    assert out.getvalue() == ""


def test_a_logged_turn_reopens_with_every_field_it_was_logged_with(log):
    turn = make_turn(question="Ünïcödé question?", unverified=True, low_confidence=True,
                     reasked=True, answer_path="generated")
    turn_id = log.record_turn(turn)
    rebuilt = Turn.from_row(log.turn(turn_id))
    assert rebuilt.turn_id == turn_id
    assert rebuilt.logged is True
    for spec in dataclasses.fields(Turn):
        if spec.name not in ("turn_id", "logged", "log_error"):
            assert getattr(rebuilt, spec.name) == getattr(turn, spec.name), spec.name
    assert all(isinstance(p, Passage) for p in rebuilt.passages)
    assert all(isinstance(c, Citation) for c in rebuilt.citations)


def test_a_row_written_by_an_older_version_still_reopens(log):
    """Older rows lack later columns, and their passages lack later fields (or carry
    fields that were dropped since): each takes its default, nothing raises."""
    row = log.turn(log.record_turn(make_turn()))
    for later_column in ("low_confidence", "reasked", "answer_path", "prompt_tokens",
                         "guard_json"):
        row.pop(later_column)
    old_passages = [{"n": 1, "chunk_id": "c1", "source": "leave.md", "text": "25 days.",
                     "retired_field": "x"}]
    row["retrieved_json"] = json.dumps(old_passages)
    turn = Turn.from_row(row)
    assert turn.passages == [Passage(1, "c1", "leave.md", "", "25 days.", 0.0, 0, 0)]
    assert (turn.low_confidence, turn.reasked, turn.prompt_tokens, turn.guard) == (
        False, False, 0, [])
    assert turn.answer_path == "cache"  # inferred: the row says it was a cache hit


def test_the_log_has_a_column_for_every_logged_field(log, db_path):
    """The migrations (history) and the Turn's one definition agree."""
    import sqlite_utils

    from assistant.records import logged_columns

    columns = set(sqlite_utils.Database(db_path)["turns"].columns_dict)
    assert {column for _, column, _ in logged_columns()} | {"datetime_utc"} == columns


def test_the_json_output_nests_tokens_and_timings():
    out = make_turn().to_json()
    assert out["tokens"] == {"prompt": 321, "completion": 45}
    assert out["timings_ms"] == {"total": 1234, "first_token": 210}
    assert out["retrieved"][0]["source"] and out["invalid_citations_removed"] == 1
    json.dumps(out)  # plain JSON all the way down


# -- locking ---------------------------------------------------------------------------------


def test_locked_database_raises_log_unavailable_and_recovers(log, db_path, monkeypatch):
    monkeypatch.setattr(log_module, "LOCK_TIMEOUT_S", 0.2)
    earlier = log.record_turn(make_turn(question="before the lock"))
    locker = sqlite3.connect(db_path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(LogUnavailable, match="locked"):
            log.record_turn(make_turn(question="during the lock", conversation_id="conv-locked"))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    questions = [t["question"] for t in log.turns()]
    assert questions == ["before the lock"]
    assert "conv-locked" not in {c["id"] for c in log.conversations()}

    later = log.record_turn(make_turn(question="after the lock"))
    assert {t["id"] for t in log.turns()} == {earlier, later}
    assert log.turn(earlier)["question"] == "before the lock"


def test_rows_written_before_the_answer_path_reopen_with_an_inferred_one(log, db_path):
    from assistant.records import PATH_CACHE, PATH_GENERATED, PATH_NONE, PATH_QUOTED

    quoted = log.record_turn(make_turn(answer_path=PATH_QUOTED, cache_hit=False))
    assert Turn.from_row(log.turn(quoted)).answer_path == PATH_QUOTED
    old = [log.record_turn(make_turn(cache_hit=hit, refused=refused))
           for hit, refused in ((False, False), (True, False), (False, True))]
    with sqlite3.connect(db_path) as conn:  # as an older version left them
        conn.execute("update turns set answer_path = null where id != ?", (quoted,))
    paths = [Turn.from_row(log.turn(turn_id)).answer_path for turn_id in old]
    assert paths == [PATH_GENERATED, PATH_CACHE, PATH_NONE]
