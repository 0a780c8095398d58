"""The `assistant` command, assembled at the top of the package stack.

Packages depend one way: knowledge <- assistant <- evals <- ui. This module is the one place
that joins them: the assistant's own commands (ask, ingest, logs, feedback), `serve` (the
browser app), `eval` and `finetune`, with the eval gate (`finetune promote`) from evals.
"""

from __future__ import annotations

import click

from assistant.offline import enforce_offline


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7860, show_default=True, type=int)
def serve(host: str, port: int):
    """Start the chat app in the browser (first start prepares the model and the index)."""
    from assistant.cli import open_pipeline, progress
    from assistant.guards import pii_presidio
    from assistant.runtime import warm_up
    from ui.app import launch

    pipeline = open_pipeline()
    warm_up(pipeline.generator, progress=progress)
    checker = getattr(pipeline.guards, "checker", None)
    if checker is not None:  # load the support check now, not on the first answer
        checker.judge("Warm-up.", "Warm-up.")
    if pipeline.guards is not None:  # and the PII analyzer (about 0.7 s)
        pii_presidio.warm_up()
    launch(pipeline, host=host, port=port)


def command_line() -> click.Group:
    """Every command group, registered on the assistant's own group."""
    from assistant.cli import main as assistant_commands
    from assistant.finetune.cli import finetune_group
    from evals.cli import eval_group
    from evals.promote import promote_cmd

    finetune_group.add_command(promote_cmd)
    assistant_commands.add_command(serve)
    assistant_commands.add_command(eval_group, "eval")
    assistant_commands.add_command(finetune_group, "finetune")
    return assistant_commands


def main() -> None:
    # First, before any library below is imported: they read their telemetry and download
    # switches at import time.
    enforce_offline()
    command_line()()


if __name__ == "__main__":
    main()
