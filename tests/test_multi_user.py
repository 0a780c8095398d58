"""With logins, each person sees and rates only their own conversations, and a person who
asks too fast is told to wait (and the refused turn is still logged)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.log import ConversationLog, LogUnavailable
from assistant.records import RATE_LIMITED
from assistant.users import UserStore
from tests.test_log import make_turn
from ui.access import Access, LoginRequired, RateLimiter, parse_rate_limit
from ui.app import ChatApp, _new_session

QUESTION = "What does the brevity penalty in BLEU do?"


def _request(user: str | None, session: str = "s") -> SimpleNamespace:
    """What the app reads from a gr.Request: the proxy's header and the session."""
    headers = {"x-forwarded-user": user} if user else {}
    return SimpleNamespace(headers=headers, username=None, session_hash=f"{session}-{user}")


def _ask(app: ChatApp, request, question: str = QUESTION) -> dict:
    session = _new_session()
    for _ in app.submit(question, session, request):
        pass
    return session


@pytest.fixture
def app(handbook_pipeline):
    settings = handbook_pipeline.settings.with_changes(login="header:X-Forwarded-User",
                                                       rate_limit="3/60")
    return ChatApp(handbook_pipeline, Access(settings))


def test_the_log_keeps_users_apart(tmp_path):
    log = ConversationLog(tmp_path / "logs.db")
    mine = log.record_turn(make_turn(conversation_id="c-a", user="alice"))
    theirs = log.record_turn(make_turn(conversation_id="c-b", user="bob"))
    assert [c["id"] for c in log.conversations(user="alice")] == ["c-a"]
    assert {c["id"] for c in log.conversations()} == {"c-a", "c-b"}  # no logins: everything
    assert [t["id"] for t in log.turns(user="bob")] == [theirs]
    assert log.turns("c-b", user="alice") == []
    log.record_feedback(mine, "up", user="alice")
    with pytest.raises(LogUnavailable, match="No logged turn") as refused:
        log.record_feedback(theirs, "down", user="alice")
    with pytest.raises(LogUnavailable) as missing:
        log.record_feedback("no-such-turn", "down", user="alice")
    assert str(refused.value).replace(theirs, "X") == str(missing.value).replace(
        "no-such-turn", "X")  # another's turn looks exactly like a missing one
    assert [r["id"] for r in log.rated_turns(user="bob")] == []


def test_user_a_cannot_see_or_rate_user_b_turns(app):
    app.pipeline.generator.queue("It penalises short candidates [1].")
    app.pipeline.generator.queue("It penalises short candidates [1].")
    alice, bob = _request("alice"), _request("bob")
    alice_session, bob_session = _ask(app, alice), _ask(app, bob)
    alice_turn = alice_session["turns"][1]
    bob_turn = bob_session["turns"][1]
    assert (alice_turn.user, bob_turn.user) == ("alice", "bob")

    choices = app.conversation_choices(alice)["choices"]
    assert [value for _, value in choices] == [alice_turn.conversation_id]
    history, _, kept = app.open_conversation(bob_turn.conversation_id, _new_session(), alice)
    assert kept["history"] == [] and not isinstance(history, list)  # nothing of Bob's shown

    assert app._save_feedback(bob_turn.turn_id, "down", "other", None, alice).startswith(
        "Feedback NOT saved")
    assert app.log.feedback() == []
    assert app._save_feedback(alice_turn.turn_id, "up", None, None, alice).startswith("Thanks")
    assert [f["turn_id"] for f in app.log.feedback()] == [alice_turn.turn_id]


def test_without_a_login_nothing_is_asked_or_logged(app):
    session = _ask(app, _request(None))
    assert session["history"] == [] and app.log.turns() == []


def test_asking_too_fast_is_refused_visibly_and_still_logged(app):
    for _ in range(3):
        app.pipeline.generator.queue("It penalises short candidates [1].")
    alice = _request("alice")
    for _ in range(3):
        _ask(app, alice)
    session = _ask(app, alice)
    turn = session["turns"][1]
    assert turn.refused and turn.reason == RATE_LIMITED
    assert "faster than this assistant allows" in session["history"][-1]["content"]
    assert app.log.turn(turn.turn_id)["reason"] == RATE_LIMITED
    assert app.pipeline.generator.prompts.__len__() == 3  # the model never saw the 4th
    _ask(app, _request("bob"))  # another user is not slowed down by Alice
    assert app.log.turns(user="bob")[0]["reason"] != RATE_LIMITED


def test_the_rate_limit_window_slides():
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert limiter.wait_needed("a") == 0 and limiter.wait_needed("a") == 0
    assert limiter.wait_needed("a") == pytest.approx(10)
    now[0] = 10.0
    assert limiter.wait_needed("a") == 0
    assert parse_rate_limit("20/60") == (20, 60.0)
    with pytest.raises(ValueError):
        parse_rate_limit("fast")


def test_logins_are_salted_hashes_and_bad_settings_are_refused(tmp_path, settings):
    store = UserStore(tmp_path / "users.json")
    store.add("alice", "correct horse")
    assert store.check("alice", "correct horse") and not store.check("alice", "wrong")
    assert not store.check("mallory", "correct horse")
    assert "correct horse" not in (tmp_path / "users.json").read_text()
    assert oct((tmp_path / "users.json").stat().st_mode)[-3:] == "600"
    with pytest.raises(ValueError):
        store.add("alice smith", "correct horse")
    with pytest.raises(ValueError):
        store.add("bob", "short")
    with pytest.raises(ValueError, match="ASSISTANT_LOGIN"):
        Access(settings.with_changes(login="ldap"))
    access = Access(settings.with_changes(login="password"))
    assert access.gradio_auth() is not None and Access(settings).gradio_auth() is None
    with pytest.raises(LoginRequired):
        access.user(SimpleNamespace(username=None, headers={}))
