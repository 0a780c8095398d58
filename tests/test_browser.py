"""The chat page in a real browser (Debian's chromium driven by Playwright) against the real app."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.load_cluster import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package"),
]



@pytest.fixture(scope="module")
def server(tmp_path_factory, qwen_gguf):
    """`assistant serve` as a user starts it, on a free port, with its own data directory."""
    tmp_path = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = dict(os.environ, ASSISTANT_HOME=str(tmp_path / "app-home"),
               ASSISTANT_MODEL=str(qwen_gguf), ASSISTANT_MAX_NEW_TOKENS="60")
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {(tmp_path / 'serve.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("server did not start in 240 s")
    yield f"http://127.0.0.1:{port}/", tmp_path / "app-home" / "logs.db"
    log.close()
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def browser_context():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser.new_context(viewport={"width": 1400, "height": 1100})
        browser.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


def _bot_messages(page):
    return page.locator("#chatbot [aria-label^=\"bot's message\"]")


def _wait_streaming(page):
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        texts = _bot_messages(page).all_inner_texts()
        if texts and texts[-1].strip() not in ("", "\u2026"):
            return
        time.sleep(0.05)
    pytest.fail("the answer did not start streaming")


def test_ask_stream_sources_and_thumbs_down_feedback_reaches_sqlite(server, page, tmp_path):
    url, db_path = server
    page.goto(url)
    page.locator("#question textarea").fill("What does the brevity penalty in BLEU do?")
    page.locator("#send").click()

    # Streamed: the answer is seen growing before it is complete.
    seen = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        texts = _bot_messages(page).all_inner_texts()
        if texts and texts[-1].strip() not in ("", "\u2026") and texts[-1] not in seen:
            seen.append(texts[-1])
        if "relevance" in page.locator("#sources").inner_text():
            break
        time.sleep(0.2)
    assert len(seen) >= 2, f"expected the answer to stream in pieces, saw {seen}"
    sources = page.locator("#sources").inner_text()
    assert "metric-bleu.md" in sources
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)

    page.locator("#chatbot button[aria-label='Dislike']").last.click()
    page.locator("#reason").wait_for(state="visible")
    page.locator("#reason label", has_text="wrong answer").click()
    page.locator("#correction textarea").fill("It penalises candidates shorter than the reference.")
    page.locator("#send-feedback").click()
    page.locator("#feedback-status", has_text="saved").wait_for(timeout=20_000)

    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "select f.rating, f.reason, f.correction, t.question from feedback f "
            "join turns t on t.id = f.turn_id"
        ).fetchall()
    assert rows == [("down", "wrong answer",
                     "It penalises candidates shorter than the reference.",
                     "What does the brevity penalty in BLEU do?")]


def test_refusal_is_visibly_distinct_and_offers_answer_anyway(server, page, tmp_path):
    url, _ = server
    page.goto(url)
    page.locator("#question textarea").fill("What is the capital of Australia?")
    page.locator("#send").click()
    refusal = page.locator("#chatbot .refusal")
    refusal.wait_for(timeout=120_000)
    assert "nothing reliable" in refusal.inner_text()
    assert page.locator("#answer-anyway").is_visible()
    page.screenshot(path=str(tmp_path / "refusal.png"), full_page=True)


def test_cached_answer_shows_its_badge_and_can_be_asked_fresh(server, page):
    from assistant.guards.guards import GUARD_RULES_VERSION
    from assistant.semantic_cache import CacheScope, SemanticCache

    url, db_path = server
    page.goto(url)
    page.locator("#question textarea").fill("What is the capital of Australia?")
    page.locator("#send").click()
    page.locator("#chatbot .refusal").wait_for(timeout=120_000)
    with sqlite3.connect(db_path) as db:
        model, adapter, prompt, kb = db.execute(
            "select model, adapter, prompt_version, kb_version from turns "
            "order by datetime_utc desc limit 1").fetchone()
    # An earlier answer in the cache, under the scope the running app uses.
    question = "How does QLoRA quantize the frozen base model?"
    scope = CacheScope(kb_version=kb, model=model, adapter=adapter, prompt_version=prompt,
                       guard_version=GUARD_RULES_VERSION)
    cache = SemanticCache(db_path.parent / "cache")
    cache.store(question, scope, "seeded-turn", "QLoRA stores the base model in 4-bit NF4 [1].",
                [{"n": 1, "source": "qlora.md", "chunk_id": "x", "heading": "QLoRA",
                  "score": 0.9, "text": "QLoRA quantizes the frozen base model to 4-bit NF4."}])
    cache.close()

    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    badge = page.locator("#chatbot .cached-badge")
    badge.wait_for(timeout=120_000)
    assert "4-bit NF4" in _bot_messages(page).last.inner_text()
    assert "qlora.md" in page.locator("#sources").inner_text()
    assert page.locator("#fresh").is_visible()


def test_a_quoted_answer_is_shown_distinctly_from_a_generated_one(server, page):
    """A turn whose answer was quoted from the sources (logged by the app's own log API, as the
    pipeline writes it) reopens in the browser under its own banner, its quote verbatim."""
    from assistant.log import ConversationLog
    from assistant.records import PATH_QUOTED, Citation, Turn

    url, db_path = server
    quote = ("A context-dependent metric takes the context into account: the source document, "
             "the retrieved passages, the conversation history, or the original question.")
    citation = Citation(1, "metrics-context-free-vs-dependent.md", "q1", "Two categories", 0.8,
                        quote)
    ConversationLog(db_path).record_turn(Turn(
        question="What does a context-dependent metric look at?", conversation_id="quoted-conv",
        answer=f"> {quote} [1]", citations=[citation], answer_path=PATH_QUOTED,
        model="m", prompt_version="p", kb_version="k"))

    page.goto(url)
    page.locator("#refresh-conversations").click()
    page.locator("#conversations input").click()
    page.get_by_role("option", name="What does a context-dependent metric look at?",
                     exact=False).click()
    banner = page.locator("#chatbot .quoted")
    banner.wait_for(timeout=30_000)
    assert "Quoted from the sources" in banner.inner_text()
    message = _bot_messages(page).last.inner_text()
    assert "the retrieved passages, the conversation history" in message
    assert page.locator("#chatbot .refusal").count() == 0


def _ask_until_streaming(page, url: str, question: str):
    """Open the app, send a question, return the question box once the answer streams."""
    page.goto(url)
    box = page.locator("#question textarea")
    box.fill(question)
    page.locator("#send").click()
    _wait_streaming(page)
    return box


def test_text_typed_while_an_answer_streams_is_kept(server, page):
    url, _ = server
    box = _ask_until_streaming(page, url, "What does the brevity penalty in BLEU do?")
    box.fill("and what about ROUGE?")
    page.locator("#sources", has_text="relevance").wait_for(timeout=180_000)
    time.sleep(1)  # any late update of the box would have arrived by now
    assert box.input_value() == "and what about ROUGE?"


def test_a_question_sent_while_an_answer_streams_is_answered_after_it(server, page):
    url, db_path = server
    box = _ask_until_streaming(page, url, "What does the brevity penalty in BLEU do?")
    box.fill("What does ROUGE-L measure?")
    page.locator("#send").click()
    user = page.locator("#chatbot [aria-label^=\"user's message\"]")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and user.count() < 2:
        time.sleep(0.5)
    assert user.count() == 2 and "ROUGE-L" in user.last.inner_text()
    page.locator("#sources", has_text="relevance").wait_for(timeout=180_000)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with sqlite3.connect(db_path) as db:
            asked = [q for (q,) in db.execute("select question from turns")]
        if "What does ROUGE-L measure?" in asked:
            break
        time.sleep(0.5)
    assert "What does ROUGE-L measure?" in asked and (
        "What does the brevity penalty in BLEU do?" in asked)


def _logged(db_path, question: str, timeout: float = 60) -> tuple | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db_path) as db:
            row = db.execute("select reason, answer, notices_json from turns where question = ?",
                             (question,)).fetchone()
        if row:
            return row
        time.sleep(0.5)
    return None


def test_stop_and_a_closed_tab_both_leave_a_logged_turn(server, browser_context):
    url, db_path = server
    page = browser_context.new_page()
    stopped_question = "How does QLoRA save memory during fine-tuning?"
    _ask_until_streaming(page, url, stopped_question)
    page.locator("#stop").click()
    reason, answer, _ = _logged(db_path, stopped_question)
    assert reason == "STOPPED" and answer.strip()

    closed_question = "What is prefix tuning and how does it differ from prompt tuning?"
    tab = browser_context.new_page()
    _ask_until_streaming(tab, url, closed_question)
    tab.close()
    assert _logged(db_path, closed_question) is not None, "the abandoned turn was not logged"
