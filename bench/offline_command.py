"""``bench export-batch`` / ``bench import-batch``: runs served offline by ``vllm run-batch``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
import orjson
from policybench.service.config import build_run_config
from policybench.service.errors import InputError
from policybench.service.runner import Prepared, Run, prepare

from .options import json_option, request_options, store_option

_KEYS = (
    "dataset",
    "policies",
    "strategy",
    "model",
    "max_tokens",
    "temperature",
    "reasoning_effort",
    "chain_of_thought",
    "limit",
)


def _prepared(opts: dict[str, Any], backend: str) -> Prepared:
    from .common import EXIT_USAGE, BenchError

    values = {k: opts[k] for k in _KEYS}
    values["backend"] = backend
    try:
        return prepare(build_run_config(values))
    except InputError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc


def export_batch_command(opts: dict[str, Any]) -> int:
    from policybench.service.offline import export_batch

    prepared = _prepared(opts, "offline-batch")
    n = export_batch(prepared, Path(opts["output"]))
    print(
        f"wrote {n} requests for {prepared.dataset.count} samples to {opts['output']}",
        file=sys.stderr,
    )
    print(
        "run them with: vllm run-batch -i <that file> -o results.jsonl --model <model>",
        file=sys.stderr,
    )
    return 0


def import_batch_command(opts: dict[str, Any]) -> int:
    from policybench.service.errors import DatasetError
    from policybench.service.offline import OfflineAnswers

    from .common import EXIT_USAGE, BenchError, open_store
    from .render import render_summary

    prepared = _prepared(opts, "offline-batch")
    try:
        answers = OfflineAnswers(prepared, Path(opts["results"]))
    except DatasetError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    store = open_store(opts["store"])
    try:
        result = asyncio.run(Run(prepared, store, client=answers).execute())
    finally:
        store.close()
    if answers.missing:
        print(
            f"warning: {answers.missing} requests had no line in the results file: recorded as errors",
            file=sys.stderr,
        )
    if opts["as_json"]:
        sys.stdout.write(orjson.dumps(result.summary.to_json()).decode() + "\n")
    else:
        from rich.console import Console

        render_summary(result.summary, Console())
    return 0


@click.command("export-batch")
@request_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Batch input file to write (JSONL).",
)
def export_batch_cmd(**opts: Any) -> None:
    """Write a run's requests as an OpenAI Batch / `vllm run-batch` input file."""

    sys.exit(export_batch_command(opts))


@click.command("import-batch")
@click.argument("results", type=click.Path(dir_okay=False))
@request_options
@store_option
@json_option
def import_batch_cmd(**opts: Any) -> None:
    """Score a `vllm run-batch` / OpenAI Batch output file into a stored run (same options as export-batch)."""

    sys.exit(import_batch_command(opts))
