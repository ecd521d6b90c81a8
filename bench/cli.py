"""The ``bench`` command line.

Options are validated into a frozen :class:`RunConfig` at this edge (bad values exit 2
naming the field), then one ``asyncio.run`` runs the job.  Exit codes: 0 ok, 1 runtime
failure, 2 usage or bad input, 130 interrupted.  Heavy imports stay inside commands so
``bench --help`` answers quickly.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .options import json_option, option, store_option

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class BenchError(click.ClickException):
    """A failure reported as ``error: message`` with a chosen exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _open_store(path: str | None) -> Any:
    from policybench.service.errors import StoreError
    from policybench.service.store import Store, default_store_path

    try:
        return Store(path or default_store_path())
    except StoreError as exc:
        raise BenchError(str(exc), EXIT_FAILURE) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="policybench")
def cli() -> None:
    """policybench: benchmark LLM safety classifiers against written policies, fast."""


@cli.command("run")
@option(
    "--dataset",
    required=True,
    help="Dataset file (.jsonl or the seed's .json) or a shipped name (balanced).",
)
@option(
    "--policies",
    default="minimal",
    show_default=True,
    help="minimal|medium|verbose, or a policy folder (DIR or DIR@verbosity).",
)
@option(
    "--strategy",
    type=click.Choice(["multi", "gauntlet"]),
    default="multi",
    show_default=True,
    help="multi: all policies in one request; gauntlet: one request per policy, concurrently.",
)
@option(
    "--model",
    default="openai/gpt-oss-safeguard-20b",
    show_default=True,
    help="Model name sent to the server.",
)
@option(
    "--base-url",
    default="http://localhost:8000/v1",
    show_default=True,
    help="OpenAI-compatible base URL (vLLM, Ollama http://localhost:11434/v1, ...).",
)
@option("--concurrency", type=int, default=32, show_default=True, help="Requests in flight.")
@option(
    "--max-tokens",
    type=int,
    default=2048,
    show_default=True,
    help="max_tokens per request (reasoning models need room).",
)
@option("--temperature", type=float, default=0.0, show_default=True, help="Sampling temperature.")
@option(
    "--reasoning-effort",
    type=click.Choice(["low", "medium", "high"]),
    default=None,
    help="reasoning_effort sent to the server.",
)
@option(
    "--chain-of-thought/--no-chain-of-thought",
    default=False,
    help="Ask the model to reason step by step before answering.",
)
@option(
    "--timeout", type=float, default=120.0, show_default=True, help="Seconds per request attempt."
)
@option(
    "--max-attempts",
    type=int,
    default=4,
    show_default=True,
    help="Attempts per request (retries on 429, 5xx, timeouts, dropped connections).",
)
@option(
    "--grace-period",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds in-flight requests get to finish after Ctrl-C.",
)
@option("--limit", type=int, default=None, help="Only the first N samples.")
@option(
    "--max-error-rate",
    type=float,
    default=None,
    help="Abort when more than this share of samples failed (0-1).",
)
@option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the server's API key (never stored).",
)
@option(
    "--resume",
    "resume",
    default=None,
    metavar="RUN",
    help="Continue an interrupted run: only samples without a record are sent.",
)
@option(
    "--sim", is_flag=True, help="Start the built-in simulated server in-process and run against it."
)
@option(
    "--sim-error-rate",
    type=float,
    default=0.1,
    show_default=True,
    help="Simulated server: share of wrong answers (seeded).",
)
@option(
    "--sim-seed",
    type=int,
    default=0,
    show_default=True,
    help="Simulated server: seed of its errors.",
)
@option(
    "--sim-time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Simulated server: multiply every latency (0 = as fast as possible).",
)
@option(
    "--sim-max-num-seqs",
    type=int,
    default=256,
    show_default=True,
    help="Simulated server: requests served at once.",
)
@option("--no-progress", is_flag=True, help="No progress bar.")
@option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus /metrics on this port during the run (0 = any free port).",
)
@option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address /metrics binds to (loopback by default; 0.0.0.0 in a container).",
)
@option(
    "--metrics-linger",
    type=click.FloatRange(min=0),
    default=15.0,
    show_default=True,
    help="Seconds /metrics keeps serving after the run, so the last scrape sees final values.",
)
@store_option
@json_option
def run_cmd(**opts: Any) -> None:
    """Run a benchmark: classify every sample of a dataset and score it."""
    from .run_command import run_command

    sys.exit(run_command(opts))


@cli.command("runs")
@store_option
@json_option
def runs_cmd(store: str | None, as_json: bool) -> None:
    """List stored runs, newest last."""
    import orjson
    from rich.console import Console
    from rich.table import Table

    db = _open_store(store)
    rows = db.list_runs()
    if as_json:
        out = [
            {
                "run_id": r.run_id,
                "status": r.status,
                "created_at": r.created_at,
                "model": r.model,
                "strategy": r.strategy,
                "policies": r.policy_set,
                "dataset": r.dataset,
                "backend": r.backend,
                "samples": r.samples_total,
                "completed": r.completed,
                "multi_policy_accuracy": (r.summary or {}).get("multi_policy_accuracy"),
                "binary_accuracy": (r.summary or {}).get("binary_accuracy"),
                "samples_per_hour": (r.summary or {}).get("samples_per_hour"),
            }
            for r in rows
        ]
        click.echo(orjson.dumps(out).decode())
        return
    table = Table(show_header=True, header_style="bold")
    for col in (
        "run",
        "status",
        "model",
        "strategy",
        "policies",
        "dataset",
        "done",
        "multi acc",
        "binary acc",
        "samples/h",
    ):
        table.add_column(col)
    from pathlib import Path

    for r in rows:
        s = r.summary or {}
        multi = s.get("multi_policy_accuracy")
        binary = s.get("binary_accuracy")
        sph = s.get("samples_per_hour")
        table.add_row(
            r.run_id,
            r.status,
            r.model + (" (sim)" if r.backend == "simulated" else ""),
            r.strategy,
            r.policy_set,
            Path(r.dataset).name,
            f"{r.completed}/{r.samples_total}",
            f"{multi['value']:.1%}" if multi else "n/a",
            f"{binary['value']:.1%}" if binary else "n/a",
            f"{sph:,.0f}" if sph else "n/a",
        )
    Console().print(table)


@cli.command("show")
@click.argument("run_id")
@store_option
@json_option
def show_cmd(run_id: str, store: str | None, as_json: bool) -> None:
    """Print a stored run's summary."""
    import orjson
    from policybench.service.errors import StoreError
    from rich.console import Console

    from .render import render_summary

    db = _open_store(store)
    try:
        row = db.get_run(run_id)
    except StoreError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    if row.summary is None:
        raise BenchError(f"run {row.run_id} has no summary yet (status {row.status})", EXIT_FAILURE)
    if as_json:
        click.echo(orjson.dumps(row.summary).decode())
    else:
        render_summary(row.summary, Console())


@cli.command("sim")
@option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default)."
)
@option("--port", type=int, default=8000, show_default=True, help="Port (0 = any free port).")
@option(
    "--dataset",
    "datasets",
    multiple=True,
    help="Dataset(s) whose gold labels the simulated model knows (repeatable).",
)
@option("--model", default="sim-guard", show_default=True, help="Model name it serves.")
@option(
    "--error-rate",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of wrong answers (seeded).",
)
@option("--seed", type=int, default=0, show_default=True, help="Seed of its errors.")
@option("--max-num-seqs", type=int, default=256, show_default=True, help="Requests served at once.")
@option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Multiply every latency (0 = as fast as possible).",
)
def sim_cmd(**opts: Any) -> None:
    """Serve the simulated OpenAI-compatible guard model (no GPU needed)."""
    from .sim_command import sim_command

    sys.exit(sim_command(opts))


@cli.group("perf")
def perf_group() -> None:
    """Performance benchmarks: figures and ratios measured side by side in one run."""


@perf_group.command("client")
@option("--samples", type=int, default=5000, show_default=True, help="Samples per round.")
@option("--concurrency", type=int, default=64, show_default=True, help="Requests in flight.")
@option(
    "--rounds",
    type=int,
    default=3,
    show_default=True,
    help="Alternating rounds (medians are reported).",
)
@option(
    "--strategy",
    "strategies",
    multiple=True,
    default=("multi", "gauntlet"),
    show_default=True,
    help="Strategies to measure (repeatable).",
)
@json_option
def perf_client_cmd(
    samples: int, concurrency: int, rounds: int, strategies: tuple[str, ...], as_json: bool
) -> None:
    """Pipeline ceiling vs a bare aiohttp loop against a zero-latency simulator (separate process)."""
    from .perf.report import print_figures
    from .perf.client import run_client_bench

    print_figures(
        "client ceiling", run_client_bench(samples, concurrency, rounds, list(strategies)), as_json
    )


@perf_group.command("memory")
@option("--small", type=int, default=10_000, show_default=True, help="Samples in the small run.")
@option("--large", type=int, default=1_000_000, show_default=True, help="Samples in the large run.")
@option("--concurrency", type=int, default=64, show_default=True, help="Requests in flight.")
@json_option
def perf_memory_cmd(small: int, large: int, concurrency: int, as_json: bool) -> None:
    """Peak RSS of a zero-latency run over a small and a large streamed dataset."""
    from .perf.memory import run_memory_bench
    from .perf.report import print_figures

    print_figures("memory", run_memory_bench(small, large, concurrency), as_json)


def main() -> None:
    cli(prog_name="bench")


if __name__ == "__main__":  # pragma: no cover
    main()
