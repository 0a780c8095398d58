"""The "Feedback" tab: every rated answer, what was wrong with it and the corrections people
wrote; filters, the turn behind a row with its sources, and export as JSONL.

Reads the conversation log only (`ConversationLog.rated_turns`); it writes nothing but export
files under $ASSISTANT_HOME/exports/. Call build_feedback_tab() inside an open gr.Tab.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr

from assistant.finetune.data import from_log
from assistant.log import FEEDBACK_REASONS, ConversationLog, LogUnavailable
from assistant.records import Turn
from ui.render import answer_markdown, sources_markdown

HEADERS = ["rated (UTC)", "rating", "reason", "question", "answer", "correction", "adapter",
           "turn id"]
ANY = "any"
EMPTY_STATE = (
    "**No rated answers yet.** In the *Chat* tab, click \U0001f44d or \U0001f44e under an "
    "answer; a \U0001f44e asks what was wrong and for the answer it should have been. Rated "
    "answers appear here, newest first, and feed the evals and the fine-tuning data."
)
RATING_MARKS = {"up": "\U0001f44d", "down": "\U0001f44e"}


def _excerpt(text: str | None, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def table_rows(rows: list[dict]) -> list[list[str]]:
    return [[r["rated_utc"][:19].replace("T", " "), RATING_MARKS.get(r["rating"], r["rating"]),
             r["feedback_reason"] or "", _excerpt(r["question"]), _excerpt(r["answer"]),
             _excerpt(r["correction"]), r["adapter"] or "base model", r["id"]]
            for r in rows]


def select_rated(log: ConversationLog, down_only: bool, reason: str, adapter: str,
                 user: str | None = None) -> list[dict]:
    """The rated turns that the filters keep (only `user`'s, if given), newest rating first."""
    return log.rated_turns(rating="down" if down_only else None,
                           reason=None if reason in ("", ANY) else reason,
                           adapter=None if adapter in ("", ANY) else adapter, user=user)


def chat_record(row: dict) -> dict:
    """One exported line: the exchange in OpenAI chat format (`messages`), then its rating."""
    return {
        "messages": [{"role": "user", "content": row["question"]},
                     {"role": "assistant", "content": row["answer"] or ""}],
        "rating": row["rating"],
        "reason": row["feedback_reason"],
        "correction": row["correction"],
        "turn_id": row["id"],
        "rated_utc": row["rated_utc"],
        "model": row["model"],
        "adapter": row["adapter"],
    }


def export_jsonl(rows: list[dict], exports_dir: Path) -> Path:
    exports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = exports_dir / f"feedback-{stamp}.jsonl"
    path.write_text("".join(json.dumps(chat_record(r), ensure_ascii=False) + "\n"
                            for r in rows), encoding="utf-8")
    return path


def training_line(log: ConversationLog, min_relevance: float) -> str:
    """What `assistant finetune build-data` would take from the ratings now."""
    examples, aside = from_log(log, min_relevance, redact=lambda text: text)
    corrections = sum(e.get("source") == "log:correction" for e in examples)
    return (f"`assistant finetune build-data` would make **{len(examples)} training "
            f"example(s)** from the ratings now ({corrections} from corrections, "
            f"{len(examples) - corrections} from \U0001f44d answers), and keep {len(aside)} "
            "\U0001f44e answer(s) without a correction aside as rejected answers. Ratings of "
            "questions refused before the model ran teach it nothing and are left out.")


def turn_detail(log: ConversationLog, turn_id: str | None,
                user: str | None = None) -> tuple[str, str]:
    """(the answer as the chat showed it, its sources) for one logged turn (of `user`'s)."""
    row = log.turn(turn_id) if turn_id else None
    if row is None or (user and row.get("user") != user):
        return "Select a row to see the answer with its sources.", ""
    turn = Turn.from_row(row)
    return f"**Question:** {turn.question}\n\n{answer_markdown(turn)}", sources_markdown(turn)


class FeedbackView:
    def __init__(self, log: ConversationLog, min_relevance: float, exports_dir: Path,
                 user_of=lambda request: None):
        self.log = log
        self.min_relevance = min_relevance
        self.exports_dir = exports_dir
        self.user_of = user_of  # request -> login name (None: no logins, everyone's ratings)

    def show(self, down_only: bool, reason: str, adapter: str, request: gr.Request = None):
        """(empty-state text, table, adapter choices, training line)."""
        try:
            user = self.user_of(request)
            rows = select_rated(self.log, down_only, reason, adapter, user)
            adapters = sorted({r["adapter"] or "" for r in self.log.rated_turns(user=user)}
                              - {""})
            line = training_line(self.log, self.min_relevance)
        except (LogUnavailable, PermissionError) as err:
            return f"The log cannot be read: {err}", gr.update(), gr.update(), ""
        filtered = down_only or reason not in ("", ANY) or adapter not in ("", ANY)
        empty = ("No rated answer matches these filters." if filtered else EMPTY_STATE)
        return (empty if not rows else f"{len(rows)} rated answer(s), newest first.",
                gr.update(value=table_rows(rows)), gr.update(choices=[ANY, *adapters]), line)

    def export(self, down_only: bool, reason: str, adapter: str, request: gr.Request = None):
        rows = select_rated(self.log, down_only, reason, adapter, self.user_of(request))
        if not rows:
            return (gr.update(visible=False, value=None),
                    "Nothing to export: no rated answer matches the filters.")
        path = export_jsonl(rows, self.exports_dir)
        return (gr.update(visible=True, value=str(path)),
                f"Exported {len(rows)} rated answer(s) to `{path}`.")

    def open_row(self, evt: gr.SelectData, request: gr.Request = None):
        row = evt.row_value if evt is not None else None
        return turn_detail(self.log, row[-1] if row else None, self.user_of(request))


def build_feedback_tab(demo: gr.Blocks, log: ConversationLog, min_relevance: float,
                       exports_dir: Path, user_of=lambda request: None) -> None:
    view = FeedbackView(log, min_relevance, exports_dir, user_of)
    status = gr.Markdown(EMPTY_STATE, elem_id="feedback-state")
    with gr.Row():
        down_only = gr.Checkbox(label="\U0001f44e thumbs down only", elem_id="feedback-down-only")
        reason = gr.Dropdown([ANY, *FEEDBACK_REASONS], value=ANY, label="Reason",
                             elem_id="feedback-reason-filter")
        adapter = gr.Dropdown([ANY], value=ANY, label="Adapter", elem_id="feedback-adapter")
        refresh = gr.Button("Refresh", scale=0, elem_id="feedback-refresh")
        export = gr.Button("Export as JSONL", scale=0, elem_id="feedback-export")
    table = gr.Dataframe(headers=HEADERS, value=[], interactive=False, wrap=True,
                         label="Rated answers", elem_id="feedback-table")
    training = gr.Markdown(elem_id="feedback-training")
    exported = gr.Markdown(elem_id="feedback-exported")
    download = gr.File(label="Exported file", visible=False, elem_id="feedback-download")
    with gr.Row():
        answer = gr.Markdown(elem_id="feedback-answer")
        sources = gr.Markdown(elem_id="feedback-sources")

    filters = [down_only, reason, adapter]
    shown = [status, table, adapter, training]
    for trigger in (demo.load, refresh.click, down_only.change, reason.change, adapter.input):
        trigger(view.show, filters, shown)
    export.click(view.export, filters, [download, exported])
    table.select(view.open_row, None, [answer, sources])
