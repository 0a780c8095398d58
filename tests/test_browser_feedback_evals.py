"""From a rated answer to a scored, compared eval run, in a real browser, without the command
line: ask, thumbs down with a reason and a correction, see it in the Feedback tab, export it,
score the logged conversations from the Evals tab, see the run's metrics, compare two runs.

Its own server (a fresh data directory), so that the empty states are seen first. Set
ASSISTANT_SCREENSHOTS=DIR to keep the screenshots of the empty states and the end state.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.test_browser import CHROMIUM, browser_context, page, server  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package"),
]
QUESTION = "What does the brevity penalty in BLEU do?"
CORRECTION = "It penalises candidates shorter than the reference."


def _screenshot(ui, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    ui.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("ASSISTANT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def _tab(ui, name: str) -> None:
    ui.get_by_role("tab", name=name).click()


def _ask_and_rate_down(ui) -> None:
    ui.locator("#question textarea").fill(QUESTION)
    ui.locator("#send").click()
    ui.locator("#sources", has_text="relevance").wait_for(timeout=180_000)
    ui.locator("#chatbot button[aria-label='Dislike']").last.click()
    ui.locator("#reason").wait_for(state="visible")
    ui.locator("#reason label", has_text="wrong answer").click()
    ui.locator("#correction textarea").fill(CORRECTION)
    ui.locator("#send-feedback").click()
    ui.locator("#feedback-status", has_text="saved").wait_for(timeout=20_000)


def _runs(evals_db: Path) -> list[str]:
    if not evals_db.is_file():
        return []
    with sqlite3.connect(evals_db) as db:
        return [r[0] for r in db.execute("select id from runs order by datetime_utc")]


def _score_logged(ui, evals_db: Path) -> str:
    """Click the button; the new run is stored, and then picked and shown on the page."""
    before = len(_runs(evals_db))
    ui.locator("#score-logged").click()
    deadline = time.monotonic() + 180
    while len(_runs(evals_db)) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    runs = _runs(evals_db)
    assert len(runs) == before + 1, "scoring stored no run"
    ui.locator("#evals-summary", has_text=runs[-1]).wait_for(timeout=30_000)
    assert "done in" in ui.locator("#evals-job").inner_text()
    return runs[-1]


def _pick(ui, dropdown: str, value: str) -> None:
    ui.locator(f"#{dropdown} input").click()
    ui.locator(f"#{dropdown}").get_by_role("option", name=value).click()


def test_from_a_rated_answer_to_a_compared_eval_run(server, page, tmp_path):  # noqa: F811
    url, db_path = server
    evals_db = db_path.parent / "evals.db"
    page.goto(url)

    _tab(page, "Feedback")
    page.locator("#feedback-state", has_text="No rated answers yet").wait_for()
    page.locator("#feedback-training", has_text="would make").wait_for()  # loaded
    _screenshot(page, tmp_path, "feedback-empty")
    _tab(page, "Evals")
    page.locator("#evals-state", has_text="No eval runs yet").wait_for()
    assert "LoRA adapter" in page.locator("#live-model").inner_text()
    _screenshot(page, tmp_path, "evals-empty")

    _tab(page, "Chat")
    _ask_and_rate_down(page)

    _tab(page, "Feedback")
    page.locator("#feedback-refresh").click()
    table = page.locator("#feedback-table")
    expect(table).to_contain_text(CORRECTION, timeout=20_000)
    assert QUESTION in table.inner_text() and "wrong answer" in table.inner_text()
    page.locator("#feedback-training", has_text="1 training example").wait_for()
    page.locator("#feedback-export").click()
    exported = page.locator("#feedback-exported", has_text="Exported 1 rated answer(s)")
    exported.wait_for(timeout=20_000)
    (export_path,) = (db_path.parent / "exports").glob("feedback-*.jsonl")
    assert str(export_path) in exported.inner_text()
    record = json.loads(export_path.read_text(encoding="utf-8"))
    assert record["messages"][0] == {"role": "user", "content": QUESTION}
    assert (record["rating"], record["reason"], record["correction"]) == (
        "down", "wrong answer", CORRECTION)
    table.locator("span", has_text=QUESTION).first.click()  # opens the turn with its sources
    page.locator("#feedback-sources", has_text="metric-bleu.md").wait_for(timeout=20_000)

    _tab(page, "Evals")
    first = _score_logged(page, evals_db)
    assert "groundedness" in page.locator("#evals-summary").inner_text()
    assert page.locator("#evals-plots img").count() >= 1  # the plots are on the page

    second = _score_logged(page, evals_db)
    page.locator("#evals-refresh").click()
    _pick(page, "compare-baseline", first)
    _pick(page, "compare-candidate", second)
    page.locator("#compare-runs").click()
    comparison = page.locator("#evals-comparison", has_text="win/tie/loss")
    comparison.wait_for(timeout=60_000)
    assert "PASS" in comparison.inner_text()  # the same turns scored twice: no regression
    _screenshot(page, tmp_path, "evals-compared")
