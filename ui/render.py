"""Turn results into the Markdown/HTML the chat page shows (pure functions)."""

from __future__ import annotations

import html

from assistant.quoting import QUOTED_NOTICE
from assistant.records import (
    NO_EVIDENCE,
    PATH_QUOTED,
    REFUSALS,
    SELF_HARM,
    SOURCES_ONLY,
    Turn,
)

EXPECTATIONS = (
    "**What this assistant knows:** the bundled handbook (evals, metrics, RAG, fine-tuning, "
    "caching, guardrails, defensive UX, feedback) and any documents you ingest. "
    "It runs a small local model and **can be wrong**: every claim points to a numbered "
    "source you can check in the *Sources* panel. When it finds nothing reliable, it says so "
    "instead of guessing. Rate answers with the thumbs up / down buttons to help it improve."
)

REFUSAL_TITLES = {reason: refusal.title for reason, refusal in REFUSALS.items()}
# A stop sign reads as a reprimand; someone who may harm themselves gets a gentler mark.
STOP_SIGN = "\u26d4"
REFUSAL_ICONS = {SELF_HARM: "\U0001F499"}


def refusal_html(turn: Turn) -> str:
    title = REFUSAL_TITLES.get(turn.reason, "Not answered")
    parts = [
        f'<div class="refusal" data-reason="{html.escape(turn.reason)}">',
        f"<strong>{REFUSAL_ICONS.get(turn.reason, STOP_SIGN)} {html.escape(title)}</strong>",
        f"<p>{html.escape(turn.answer)}</p>",
    ]
    if turn.searched_for:
        parts.append(f'<p class="searched">{html.escape(turn.searched_for)}</p>')
    if turn.reason == NO_EVIDENCE:
        parts.append(
            "<p>You can rephrase the question, add documents with <code>assistant ingest</code>, "
            "press <em>Show sources only</em> to read what was found, "
            "or press <em>Answer anyway (unverified)</em>.</p>"
        )
    parts.append(f"<small>reason code: {html.escape(turn.reason)}</small></div>")
    return "".join(parts)


def answer_markdown(turn: Turn) -> str:
    """The assistant message for a finished turn."""
    if turn.reason == SOURCES_ONLY:
        body = f"*{turn.answer}* See the Sources panel."
    elif turn.refused:
        body = refusal_html(turn)
    else:
        body = turn.answer
        if turn.unverified:
            body = (
                '<div class="unverified"><strong>\u26a0 Unverified answer</strong> '
                "(you asked for an answer without reliable sources)</div>\n\n" + body
            )
        elif turn.low_confidence:
            body = (
                '<div class="unverified"><strong>\u26a0 Low confidence</strong> '
                "(weakly supported by the sources: check the passages)</div>\n\n" + body
            )
        if turn.answer_path == PATH_QUOTED:
            body = (
                '<div class="quoted" data-path="quoted"><strong>\u275d Quoted from the sources'
                "</strong> (the model's own answer did not pass the check against its sources, "
                "so these are the sources' sentences, word for word)</div>\n\n" + body
            )
        if turn.cache_hit:
            body = (
                f'<span class="cached-badge">cached</span> <small>same as an earlier answer '
                f"(similarity {turn.cache_similarity or 0:.2f}); press <em>Ask again, fresh</em> "
                "for a new one.</small>\n\n" + body
            )
    notes = [n for n in turn.notices if n != QUOTED_NOTICE]  # the banner says it
    if turn.log_error:
        notes.append(f"Not saved to the log: {turn.log_error}")
    if notes:
        body += "\n\n" + "\n".join(f"> \u2139\ufe0f {n}" for n in notes)
    return body


def sources_markdown(turn: Turn | None) -> str:
    """The Sources panel: the passages behind each citation, then the other retrieved ones."""
    if turn is None:
        return "*Sources of the latest answer appear here.*"
    if not turn.passages:
        return "*No passages were retrieved for this question.*"
    cited = {c.chunk_id for c in turn.citations}
    by_chunk = {c.chunk_id: c.n for c in turn.citations}
    lines = []
    for p in sorted(turn.passages, key=lambda p: (p.chunk_id not in cited, -p.score)):
        if p.chunk_id in cited:
            label = f"**[{by_chunk[p.chunk_id]}] cited**"
        else:
            label = "retrieved, not cited"
        heading = f" \u203a {html.escape(p.heading)}" if p.heading else ""
        excerpt = html.escape(p.text[:700]) + ("\u2026" if len(p.text) > 700 else "")
        # An image in a document would load as soon as the panel shows it (a tracking pixel
        # planted in a poisoned page): "![" is escaped, so it reads as text.
        excerpt = excerpt.replace("![", "!\\[")
        lines.append(
            f"{label} \u2014 `{html.escape(p.source)}`{heading} \u00b7 relevance {p.score:.2f}\n\n"
            f"> {excerpt.replace(chr(10), ' ')}\n"
        )
    return "\n".join(lines)


def conversation_label(row: dict) -> str:
    title = (row.get("title") or "(untitled)").replace("\n", " ")[:60]
    return f"{row['datetime_utc'][:16].replace('T', ' ')} \u00b7 {title} ({row['turns']})"
