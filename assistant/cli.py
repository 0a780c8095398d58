"""The assistant's own commands: ask, ingest, logs, feedback.

The full `assistant` command (with serve, eval and finetune) is assembled by ui/cli.py, the
top of the package stack, so that this package never imports the evals or the UI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.config import Settings


def progress(message: str) -> None:
    click.echo(message, err=True)


def open_pipeline(with_handbook: bool = True):
    from assistant.runtime import open_assistant

    return open_assistant(Settings.from_env(), progress=progress, with_handbook=with_handbook)


def _log():
    from assistant.log import ConversationLog

    return ConversationLog(Settings.from_env().db_path)


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


class _FriendlyGroup(click.Group):
    """Known failures (locked log, missing model) end with their message, not a traceback."""

    def invoke(self, ctx):
        from assistant.base_models import ModelUnavailable
        from assistant.log import LogUnavailable

        try:
            return super().invoke(ctx)
        except (LogUnavailable, ModelUnavailable) as err:
            fail(str(err))


@click.group(cls=_FriendlyGroup)
def main():
    """A local chat assistant that cites its sources and says when it cannot answer."""


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--conversation", "conversation_id", help="Continue this conversation id.")
@click.option("--answer-anyway", is_flag=True, help="Answer even without evidence (unverified).")
@click.option("--sources-only", is_flag=True, help="Show the passages found; generate nothing.")
@click.option("--fresh", is_flag=True, help="Bypass the semantic cache.")
def ask(question: str, as_json: bool, conversation_id: str | None, answer_anyway: bool,
        sources_only: bool, fresh: bool):
    """Ask one question through the same pipeline as the app; the turn is logged."""
    from assistant.pipeline import TurnRequest

    pipeline = open_pipeline()
    request = TurnRequest(question, conversation_id, answer_anyway=answer_anyway,
                          sources_only=sources_only, use_cache=not fresh)
    if as_json:
        turn = pipeline.ask(request)
        click.echo(json.dumps(turn.to_json(), ensure_ascii=False, indent=2))
        return
    turn = None
    for kind, payload in pipeline.stream(request):
        if kind == "token":
            click.echo(payload, nl=False)
        elif kind == "done":
            turn = payload
    click.echo()
    click.echo(_render_turn_footer(turn))


def _render_turn_footer(turn) -> str:
    from assistant.records import PATH_QUOTED

    lines = []
    if turn.refused:
        lines.append(f"[refused: {turn.reason}] {turn.answer}")
        if turn.searched_for:
            lines.append(turn.searched_for)
    elif turn.answer_path == PATH_QUOTED:  # the streamed draft failed the check; show the quote
        lines += ["", "[quoted from the sources]", turn.answer, ""]
    else:
        lines.append("")
    for c in turn.citations:
        lines.append(f"[{c.n}] {c.source} \u203a {c.heading} (relevance {c.score:.2f})")
    lines.extend(f"Note: {n}" for n in turn.notices)
    if turn.log_error:
        lines.append(f"Not logged: {turn.log_error}")
    else:
        lines.append(f"turn {turn.turn_id} \u00b7 conversation {turn.conversation_id}")
    return "\n".join(lines)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest(paths: tuple[Path, ...]):
    """Add or update documents (.md .txt .html .pdf .docx) in the knowledge base."""
    from tqdm import tqdm

    from assistant.runtime import open_assistant
    from knowledge.ingest import ingest_paths

    pipeline = open_assistant(Settings.from_env(), progress=progress, generator=_NoGenerator())
    report = ingest_paths(
        pipeline.index,
        paths,
        progress=lambda items: tqdm(items, desc="Ingesting", unit="file"),
        on_error=lambda path, reason: tqdm.write(f"Skipped {path}: {reason}", file=sys.stderr),
    )
    click.echo(report.summary())
    for key in report.removed:
        click.echo(f"Removed from the index (file gone): {key}")
    if report.failed and not (report.added or report.updated or report.unchanged):
        sys.exit(1)


class _NoGenerator:
    """Ingesting needs no language model; avoid converting or loading one."""

    name = "none"
    adapter = None


@main.group()
def logs():
    """Browse, search and export the conversation log."""


@logs.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--user", help="Only this login's turns (when the app runs with logins).")
def logs_list(limit: int, user: str | None):
    """The most recent turns."""
    for row in _log().turns(limit=limit, user=user):
        status = f"refused:{row['reason']}" if row["refused"] else "answered"
        click.echo(f"{row['id']}  {row['datetime_utc'][:19]}  {status:<24} {row['question'][:70]}")


@logs.command("show")
@click.argument("turn_id")
def logs_show(turn_id: str):
    """One turn in full, with its feedback, as JSON."""
    row = _log().turn(turn_id)
    if row is None:
        fail(f"no turn with id {turn_id}")
    click.echo(json.dumps(row, ensure_ascii=False, indent=2))


@logs.command("search")
@click.argument("text")
@click.option("--limit", default=20, show_default=True)
def logs_search(text: str, limit: int):
    """Full-text search over questions and answers."""
    for row in _log().search(text, limit=limit):
        click.echo(f"{row['id']}  {row['question'][:60]!r} -> {row['answer'][:60]!r}")


@logs.command("export")
@click.argument("output", type=click.Path(dir_okay=False, allow_dash=True), default="-")
def logs_export(output: str):
    """All turns with their feedback as JSON Lines (to a file, or stdout with -)."""
    with click.open_file(output, "w", encoding="utf-8") as out:
        count = _log().export_jsonl(out)
    click.echo(f"Exported {count} turns.", err=True)


@main.command()
@click.argument("turn_id")
@click.option("--rating", type=click.Choice(["up", "down"]), required=True)
@click.option("--reason", type=click.Choice(["wrong sources", "wrong answer", "unsafe", "other"]))
@click.option("--correction", help="The answer it should have given.")
def feedback(turn_id: str, rating: str, reason: str | None, correction: str | None):
    """Rate a logged answer."""
    from assistant.feedback import record_feedback
    from assistant.log import LogUnavailable
    from assistant.semantic_cache import SemanticCache

    settings = Settings.from_env()
    try:
        record_feedback(_log(), SemanticCache(settings.cache_dir), turn_id, rating, reason,
                        correction)
    except (LogUnavailable, ValueError) as err:
        fail(str(err))
    click.echo("Feedback saved.")


@main.group()
def users():
    """Logins for the app (with ASSISTANT_LOGIN=password)."""


@users.command("add")
@click.argument("name")
@click.password_option()
def users_add(name: str, password: str):
    """Add a login, or set its password (stored as a salted hash)."""
    from assistant.users import UserStore

    try:
        UserStore(Settings.from_env().users_path).add(name, password)
    except ValueError as err:
        fail(str(err))
    click.echo(f"Login {name!r} saved. Start the app with ASSISTANT_LOGIN=password.")


@users.command("list")
def users_list():
    """The login names."""
    from assistant.users import UserStore

    for name in UserStore(Settings.from_env().users_path).names():
        click.echo(name)
