"""``bench score-outputs FILE --dataset D --format F``: score answers a model already
generated (published raw generations, old logs) against a dataset, with no server.

The answers go through the same parsers and scorer as a run and are stored as a run
(backend ``scored-outputs``), so ``bench report``, ``compare`` and ``rescore`` work on
it.  ``--convention guardreasoner`` also prints the figure GuardReasoner's own scorer
would give, with the failure counts that explain the difference (docs/protocols.md).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from .common import EXIT_USAGE, BenchError, open_store
from .options import json_option, option, store_option


def _usage(message: str) -> click.ClickException:
    return BenchError(message, EXIT_USAGE)


@click.command("score-outputs")
@click.argument("file", type=click.Path(dir_okay=False))
@option("--dataset", required=True, help="The dataset the outputs answer (file or shipped name).")
@option(
    "--format",
    "output_format",
    required=True,
    help="Output format to parse the answers in (a `bench parse` format, e.g. guardreasoner).",
)
@option(
    "--task",
    type=click.Choice(["prompt", "response", "refusal"]),
    default=None,
    help="What the answers judge (default: the task the dataset's import recorded, else prompt).",
)
@option("--model", default="outputs", show_default=True, help="Name of the model that wrote them.")
@option("--policies", default="minimal", show_default=True, help="Policy set (its categories).")
@option("--answer-field", default=None, help="Column of the answer (default: predict, output...).")
@option("--id-field", default=None, help="Column of the sample id (default: match by position).")
@option(
    "--prompt-field",
    default="prompt",
    show_default=True,
    help="Column of the prompt answered, checked to contain the sample's text when present.",
)
@option(
    "--convention",
    type=click.Choice(["guardreasoner"]),
    default=None,
    help="Also compute F1 by a published scorer's convention.",
)
@option(
    "--failures",
    type=click.Choice(["wrong", "flip", "exclude"]),
    default="wrong",
    show_default=True,
    help="How unparsed answers enter binary precision/recall/F1 (as `bench run`).",
)
@option("--limit", type=int, default=None, help="Only the first N samples.")
@store_option
@json_option
def score_outputs_cmd(file: str, as_json: bool, **opts: Any) -> None:
    """Score FILE's already-generated answers against --dataset, with no server."""
    from policybench.service.config import RunConfig, build_run_config
    from policybench.service.datasets import resolve
    from policybench.service.errors import InputError
    from policybench.service.outputs import OutputsFile, dataset_task, score_outputs
    from policybench.service.runner import prepare
    from policybench.service.tasks import Task

    try:
        task = Task(opts["task"]) if opts["task"] else dataset_task(resolve(opts["dataset"]))
        values: dict[str, Any] = {
            "dataset": opts["dataset"],
            "policies": opts["policies"],
            "output_format": opts["output_format"],
            "model": opts["model"],
            "concurrency": 1,
            "max_attempts": 1,
            "limit": opts["limit"],
            "failures": opts["failures"],
            "backend": "scored-outputs",
        }
        task = task or Task.PROMPT
        if "task" in RunConfig.model_fields:
            values["task"] = task.value
        elif task is not Task.PROMPT:
            # without a task in the run's config the parsers would read the prompt line:
            # refuse rather than score the wrong line
            raise _usage(
                f"the {task.value} task needs a run config with a task (not in this version)"
            )
        prepared = prepare(build_run_config(values))
    except InputError as exc:
        raise _usage(str(exc)) from exc
    spec = OutputsFile(
        Path(file),
        answer_field=opts["answer_field"],
        id_field=opts["id_field"],
        prompt_field=opts["prompt_field"],
    )
    store = open_store(opts["store"])
    try:
        scored = asyncio.run(score_outputs(prepared, spec, store, task, opts["convention"]))
    except InputError as exc:
        raise _usage(str(exc)) from exc
    finally:
        store.close()
    summary = scored.result.summary.to_json()
    summary["task"] = task.value
    summary["outputs"] = {"file": str(file), "samples": scored.samples, "missing": scored.missing}
    if scored.convention is not None:
        summary["convention"] = scored.convention.as_dict()
    if as_json:
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
        return
    from rich.console import Console

    from .render import render_summary

    console = Console()
    render_summary(scored.result.summary, console)
    if scored.missing:
        console.print(f"{scored.missing} samples had no output: recorded as errors")
    if scored.convention is not None:
        c = scored.convention
        f1 = "n/a" if c.f1 is None else f"{100 * c.f1:.2f}"
        console.print(
            f"F1 by the {c.convention} convention: {f1} ({c.counted} scored once, "
            f"{c.dropped_failures} failures with positive gold left out, "
            f"{c.doubled_failures} failures counted twice)"
        )
