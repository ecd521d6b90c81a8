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

from .options import json_option, option, request_options, store_option

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class BenchError(click.ClickException):
    """A failure reported as ``error: message`` with a chosen exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class

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
    default=None,
    help="Dataset file (.jsonl or the seed's .json) or a shipped name (balanced); "
    "required unless --resume (which reuses the run's own).",
)
@option(
    "--policies",
    default="minimal",
    show_default=True,
    help="minimal|medium|verbose, or a policy folder (DIR or DIR@verbosity).",
)
@option(
    "--strategy",
    type=click.Choice(["multi", "gauntlet", "ensemble"]),
    default="multi",
    show_default=True,
    help="multi: all policies in one request; gauntlet: one request per policy, concurrently; "
    "ensemble: several members vote (see --ensemble-members).",
)
@option(
    "--ensemble-members",
    default="",
    metavar="M1,M2,...",
    help="Ensemble members, each STRATEGY[+cot][+low|+medium|+high][@MODEL], "
    "e.g. 'multi,gauntlet' or 'multi@llama-guard3,multi@gpt-oss:20b'.",
)
@option(
    "--vote",
    type=click.Choice(["majority", "any", "all"]),
    default="majority",
    show_default=True,
    help="How ensemble members' verdicts combine, per category.",
)
@option(
    "--output-format",
    default=None,
    metavar="FORMAT",
    help="Parse every answer in this format (see `bench parse --help`); "
    "default: each policy's `output:` front matter, else json.",
)
@option(
    "--model",
    default="openai/gpt-oss-safeguard-20b",
    show_default=True,
    help="Model name sent to the server.",
)
@option(
    "--base-url",
    "base_urls",
    multiple=True,
    default=("http://localhost:8000/v1",),
    show_default=True,
    help="OpenAI-compatible base URL (vLLM, Ollama http://localhost:11434/v1, ...). Repeat for several servers: each request goes to the least loaded.",
)
@option(
    "--concurrency",
    default="32",
    show_default=True,
    help="Requests in flight, or 'auto' for an adaptive limit that settles near the server's knee.",
)
@option(
    "--max-concurrency",
    type=int,
    default=1024,
    show_default=True,
    help="Upper bound for --concurrency auto.",
)
@option(
    "--stream/--no-stream",
    default=False,
    help="Stream answers (SSE) to measure the time to the first token (TTFT).",
)
@option(
    "--rate",
    type=float,
    default=None,
    help="Poisson arrivals at this many samples per second (latency under a given load); --concurrency still caps requests in flight.",
)
@option(
    "--batch-size",
    type=int,
    default=1,
    show_default=True,
    help="Conversations per HTTP request (vLLM: /chat/completions/batch, else /completions with a prompt list).",
)
@option(
    "--batch-endpoint",
    type=click.Choice(["auto", "chat-batch", "completions"]),
    default="auto",
    show_default=True,
    help="Which batch route to use; auto tries chat-batch and falls back.",
)
@option(
    "--chat-template",
    default="harmony",
    show_default=True,
    help="Chat template for the completions route: harmony, generic, or a template file.",
)
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
    default=0.5,
    show_default=True,
    help="Simulated server: multiply every model latency (1 = the profile's real speed, "
    "0 = as fast as possible).",
)
@option(
    "--sim-max-num-seqs",
    type=int,
    default=None,
    help="Simulated server: requests served at once (default: the profile's).",
)
@option(
    "--sim-profile",
    default="gpt-oss-safeguard-20b-h100",
    show_default=True,
    help="Simulated server: performance profile (name or .toml file; `bench sim --list-profiles`).",
)
@option(
    "--sim-independent-models",
    is_flag=True,
    help="Simulated server: each model name errs on its own draws (so ensembles have something to vote on).",
)
@option(
    "--sim-style",
    default="auto",
    show_default=True,
    help="Simulated server: answer style (auto = by model name, then the prompt's format).",
)
@option(
    "--sim-fault",
    "sim_faults",
    multiple=True,
    metavar="KIND=RATE",
    help="Simulated server: inject a fault (500|503|429|400|slow|hang|drop|malformed|empty), repeatable.",
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
    # a terminal gets its own width; a pipe or file gets whole rows instead of 80 columns
    Console(width=None if sys.stdout.isatty() else 200).print(table)


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
        # killed before it could write one: the summary so far, from its stored records
        import dataclasses

        from policybench.service.runsummary import summarise

        row = dataclasses.replace(row, summary=summarise(db, row.run_id).summary)
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
@option("--model", default=None, help="Model name it serves (default: the profile's).")
@option(
    "--profile",
    default="gpt-oss-safeguard-20b-h100",
    show_default=True,
    help="Performance profile: a shipped name or a .toml file.",
)
@option("--list-profiles", is_flag=True, help="List the shipped profiles and exit.")
@option(
    "--error-rate",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of wrong answers (seeded).",
)
@option("--seed", type=int, default=0, show_default=True, help="Seed of its errors and faults.")
@option(
    "--max-num-seqs", type=int, default=None, help="Sequences run at once (default: the profile's)."
)
@option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Multiply every latency (0 = answer at once: the zero-latency mode).",
)
@option(
    "--prefix-caching/--no-prefix-caching",
    default=None,
    help="Prefix caching (default: the profile's, on as in vLLM).",
)
@option(
    "--independent-models",
    is_flag=True,
    help="Each model name errs on its own draws (default: all models make the same mistakes).",
)
@option(
    "--style",
    default="auto",
    show_default=True,
    help="Answer style: auto (by model name, then the prompt's format), json, json-fenced, binary, "
    "violation-safe, valid-invalid, llamaguard, wildguard, guardreasoner, shieldgemma, qwen3guard, ...",
)
@option(
    "--reasoning-field",
    type=click.Choice(["reasoning", "reasoning_content", "both", "none"]),
    default=None,
    help="Where reasoning goes: vLLM >= 0.16 and Ollama `reasoning`, <= 0.11.0 `reasoning_content`, "
    "0.11.1-0.15 both (default: the profile's).",
)
@option("--refusal-rate", type=float, default=0.0, show_default=True, help="Share of refusals.")
@option("--empty-rate", type=float, default=0.0, show_default=True, help="Share of empty answers.")
@option(
    "--truncate-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of answers cut off by the token limit.",
)
@option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND=RATE",
    help="Inject a fault (500|503|429|400|slow|hang|drop|malformed|empty), repeatable.",
)
@option(
    "--fault-retry-after",
    type=float,
    default=1.0,
    show_default=True,
    help="Retry-After seconds of the 429 fault.",
)
@option(
    "--fault-slow-seconds",
    type=float,
    default=2.0,
    show_default=True,
    help="Delay of the slow fault (wall seconds).",
)
def sim_cmd(**opts: Any) -> None:
    """Serve the simulated OpenAI-compatible guard model (no GPU needed)."""
    from .sim_command import sim_command

    sys.exit(sim_command(opts))


@cli.command("sweep")
@option("--dataset", default="balanced", show_default=True, help="Dataset file or shipped name.")
@option("--policies", default="minimal", show_default=True, help="Policy set.")
@option(
    "--strategy",
    type=click.Choice(["multi", "gauntlet"]),
    default="multi",
    show_default=True,
    help="Strategy.",
)
@option("--model", default="openai/gpt-oss-safeguard-20b", show_default=True, help="Model name.")
@option(
    "--base-url", default="http://localhost:8000/v1", show_default=True, help="Server base URL."
)
@option("--max-tokens", type=int, default=2048, show_default=True, help="max_tokens per request.")
@option(
    "--levels",
    default=None,
    help="Comma-separated concurrencies (default: 1, 2, 4, ... until throughput stops rising).",
)
@option(
    "--max-level",
    type=int,
    default=1024,
    show_default=True,
    help="Highest concurrency when doubling.",
)
@option("--samples", type=int, default=None, help="Samples per step (default: the whole dataset).")
@option("--sim", is_flag=True, help="Sweep the in-process simulated server.")
@option(
    "--sim-time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Simulated server: latency multiplier.",
)
@option(
    "--sim-max-num-seqs",
    type=int,
    default=256,
    show_default=True,
    help="Simulated server: requests served at once.",
)
@option(
    "--out-dir", default="sweep-out", show_default=True, help="Where sweep.csv and sweep.png go."
)
@store_option
@json_option
def sweep_cmd(**opts: Any) -> None:
    """Throughput and latency at each concurrency; marks the knee; writes CSV and PNG."""
    from .sweep_command import sweep_command

    sys.exit(sweep_command(opts))


@cli.command("export-batch")
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
    from .offline_command import export_batch_command

    sys.exit(export_batch_command(opts))


@cli.command("import-batch")
@click.argument("results", type=click.Path(dir_okay=False))
@request_options
@store_option
@json_option
def import_batch_cmd(**opts: Any) -> None:
    """Score a `vllm run-batch` / OpenAI Batch output file into a stored run (same options as export-batch)."""
    from .offline_command import import_batch_command

    sys.exit(import_batch_command(opts))


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
    default=("multi", "gauntlet", "multi-batch16"),
    show_default=True,
    help="Modes to measure (repeatable): STRATEGY[-batchB][-metrics], e.g. multi, gauntlet, multi-batch16 (B conversations per request), multi-metrics (Prometheus metrics on).",
)
@json_option
def perf_client_cmd(
    samples: int, concurrency: int, rounds: int, strategies: tuple[str, ...], as_json: bool
) -> None:
    """Pipeline ceiling vs a bare aiohttp loop against a zero-latency simulator (separate process)."""
    from .perf.client import run_client_bench
    from .perf.report import print_figures

    print_figures(
        "client ceiling", run_client_bench(samples, concurrency, rounds, list(strategies)), as_json
    )


@perf_group.command("saturation")
@option(
    "--profile", default="gpt-oss-safeguard-20b-h100", show_default=True, help="Simulator profile."
)
@option(
    "--max-num-seqs",
    type=int,
    default=32,
    show_default=True,
    help="The simulated server's batch limit (its knee).",
)
@option("--samples", type=int, default=1500, show_default=True, help="Samples per run.")
@option("--time-scale", type=float, default=0.1, show_default=True, help="Simulator time scale.")
@json_option
def perf_saturation_cmd(
    profile: str, max_num_seqs: int, samples: int, time_scale: float, as_json: bool
) -> None:
    """Fraction of a simulated server's modelled capacity reached at fixed and auto concurrency."""
    from .perf.report import print_figures
    from .perf.saturation import run_saturation_bench

    print_figures(
        "saturation", run_saturation_bench(profile, max_num_seqs, samples, time_scale), as_json
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


@perf_group.command("viewer")
@option(
    "--records", type=int, default=1_000_000, show_default=True, help="Records in the big run."
)
@option(
    "--write-sample",
    type=int,
    default=100_000,
    show_default=True,
    help="Records written with and without tags, for the write-cost ratio.",
)
@option("--repeats", type=int, default=5, show_default=True, help="Fetches per page (median).")
@json_option
def perf_viewer_cmd(records: int, write_sample: int, repeats: int, as_json: bool) -> None:
    """Viewer pages over HTTP on a stored run of 1,000,000 records: open, filter, search."""
    from .perf.report import print_figures
    from .perf.viewer import run_viewer_bench

    print_figures("viewer", run_viewer_bench(records, write_sample, repeats), as_json)


@cli.command("export")
@click.argument("run")
@option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    default="jsonl",
    show_default=True,
    help="jsonl: stored records as they are; csv/parquet: flat columns (parquet needs pyarrow).",
)
@option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
@store_option
def export_cmd(run: str, fmt: str, output: str, store: str | None) -> None:
    """Export a run's per-sample records, one row per sample with its sample_id."""
    from .export_command import export_command

    sys.exit(export_command(run, fmt, output, store))


@cli.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@store_option
@json_option
def compare_cmd(run_a: str, run_b: str, store: str | None, as_json: bool) -> None:
    """Compare two runs on the same samples: Wilson intervals and the exact McNemar test."""
    from .compare_command import compare_command

    sys.exit(compare_command(run_a, run_b, store, as_json))


@cli.command("matrix")
@click.argument("file", type=click.Path(dir_okay=False))
@option("--sim", is_flag=True, help="Run every cell against the simulated server.")
@option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the server's API key (never stored).",
)
@option("--no-progress", is_flag=True, help="No progress bar.")
@store_option
@json_option
def matrix_cmd(**opts: Any) -> None:
    """Run a grid of runs (models x policies x strategies x datasets) from a TOML file."""
    from .matrix_command import matrix_command

    sys.exit(matrix_command(opts))


@cli.command("report")
@click.argument("runs", nargs=-1)
@option("--matrix", type=click.Path(dir_okay=False), default=None, help="Report a matrix file.")
@option("--sim", is_flag=True, help="With --matrix: the simulated variant of the matrix.")
@option(
    "--format",
    type=click.Choice(["terminal", "markdown", "html"]),
    default="terminal",
    show_default=True,
    help="terminal tables, a markdown experiment log, or an HTML page with charts.",
)
@option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="File to write.")
@option("--title", default=None, help="Report title.")
@store_option
def report_cmd(**opts: Any) -> None:
    """Report stored runs (all of them by default) or a matrix; never re-runs anything."""
    from .report_command import report_command

    sys.exit(report_command(opts))


class _ParseCommand(click.Command):
    """Lists the parse formats in its help, importing them only when help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from policybench.service.parsers import DESCRIPTIONS

        with formatter.section("Formats"):
            formatter.write_dl(list(DESCRIPTIONS.items()))


@cli.command("parse", cls=_ParseCommand)
@option(
    "--format",
    "fmt",
    required=True,
    metavar="FORMAT",
    help="Output format of the raw answers (listed below).",
)
@option(
    "--field",
    default="content",
    show_default=True,
    help="Field of each input object that holds the answer text.",
)
@option(
    "--categories",
    default="hate_speech,violence,self_harm,sexual_minors,harassment,illegal",
    show_default=True,
    help="Comma-separated category ids the answers may name.",
)
@option(
    "--target",
    default=None,
    metavar="CATEGORY",
    help="Answers are to a one-policy prompt about this category (as in gauntlet).",
)
def parse_cmd(**opts: Any) -> None:
    """Parse raw model answers: JSON lines on stdin, one JSON verdict per line on stdout.

    Each input line is a JSON object with the answer in --field (and optionally `id` and
    `finish_reason`); each output line has that `id`, `ok`, and the violated
    `categories` or the failure `reason`.  Counts per outcome go to stderr.
    """
    from .parse_command import parse_command

    sys.exit(parse_command(opts))


@cli.command("rescore")
@click.argument("run")
@option(
    "--output-format",
    default=None,
    metavar="FORMAT",
    help="Re-parse in this format instead of the run's (see `bench parse --help`).",
)
@store_option
@json_option
def rescore_cmd(run: str, output_format: str | None, store: str | None, as_json: bool) -> None:
    """Re-parse a stored run's raw answers with today's parsers; no request is sent.

    The new verdicts and summary are stored beside the run's own (which stay as they
    were) and the summary is printed, with what changed.
    """
    from .rescore_command import rescore_command

    sys.exit(rescore_command(run, output_format, store, as_json))


def _add_datasets_group() -> None:
    # The group's module is light (its commands import the engine lazily).
    from .datasets_command import datasets

    cli.add_command(datasets)


_add_datasets_group()


@cli.command("serve")
@option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (loopback by default; any other needs a token).",
)
@option("--port", type=int, default=8080, show_default=True, help="Port (0 = any free port).")
@option(
    "--token-env",
    default="POLICYBENCH_SERVICE_TOKEN",
    show_default=True,
    help="Environment variable holding the bearer token clients must send.",
)
@option(
    "--max-jobs",
    type=int,
    default=2,
    show_default=True,
    help="Runs executed at once; the rest wait in submission order.",
)
@option(
    "--max-inflight-per-endpoint",
    type=int,
    default=64,
    show_default=True,
    help="Requests in flight per upstream server, all runs together.",
)
@option(
    "--dataset-root",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Folder submitted dataset paths must lie in (repeatable).",
)
@option(
    "--policy-root",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Folder submitted policy folders must lie in (repeatable).",
)
@option(
    "--max-body-bytes",
    type=int,
    default=256 * 1024,
    show_default=True,
    help="Largest request body accepted (413 above).",
)
@option(
    "--grace-period",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds running jobs get to stop at a checkpoint on SIGTERM.",
)
@option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the upstream servers' API key (never stored or shown).",
)
@store_option
def serve_cmd(**opts: Any) -> None:
    """Run the batch service: an HTTP API that queues, runs and reports benchmark jobs."""
    from .serve_command import serve_command

    sys.exit(serve_command(opts))


@cli.command("view")
@option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (loopback by default; any other needs a token).",
)
@option("--port", type=int, default=8090, show_default=True, help="Port (0 = any free port).")
@option(
    "--token-env",
    default="POLICYBENCH_SERVICE_TOKEN",
    show_default=True,
    help="Environment variable holding the token a browser signs in with.",
)
@store_option
def view_cmd(**opts: Any) -> None:
    """Web viewer over the run store: runs, samples, one sample, compare; live runs update."""
    from .view_command import view_command

    sys.exit(view_command(opts))


def _client_options(f: Any) -> Any:
    f = option(
        "--url", default="http://127.0.0.1:8080", show_default=True, help="The service's URL."
    )(f)
    f = option(
        "--token-env",
        default="POLICYBENCH_SERVICE_TOKEN",
        show_default=True,
        help="Environment variable holding the service's bearer token.",
    )(f)
    return json_option(f)


@cli.command("submit")
@option(
    "--dataset",
    required=True,
    help="Dataset: a shipped name, or a path under the service's dataset root.",
)
@option(
    "--policies",
    default=None,
    help="minimal|medium|verbose, or a folder under the service's policy root.",
)
@option(
    "--strategy", type=click.Choice(["multi", "gauntlet"]), default=None, help="Request strategy."
)
@option("--model", default=None, help="Model name sent to the server.")
@option("--base-url", default=None, help="OpenAI-compatible base URL, as seen from the service.")
@option("--concurrency", type=int, default=None, help="Requests in flight for this run.")
@option("--limit", type=int, default=None, help="Only the first N samples.")
@option("--sim", is_flag=True, help="Run against a simulated server started by the service.")
@option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other `bench run` option (JSON value), e.g. --set max_tokens=512.",
)
@option("--watch", is_flag=True, help="Follow the run's progress until it ends.")
@_client_options
def submit_cmd(**opts: Any) -> None:
    """Submit a run to a running `bench serve`; prints its run id."""
    from .client_command import submit_command

    sys.exit(submit_command(opts))


@cli.command("status")
@click.argument("run_id", required=False)
@_client_options
def status_cmd(**opts: Any) -> None:
    """Show one run, or every run, of a running `bench serve`."""
    from .client_command import status_command

    sys.exit(status_command(opts))


@cli.command("watch")
@click.argument("run_id")
@_client_options
def watch_cmd(**opts: Any) -> None:
    """Follow a service run's live progress (server-sent events) until it ends."""
    from .client_command import watch_command

    sys.exit(watch_command(opts))


@cli.command("cancel")
@click.argument("run_id")
@_client_options
def cancel_cmd(**opts: Any) -> None:
    """Cancel a queued or running service run."""
    from .client_command import cancel_command

    sys.exit(cancel_command(opts))


def main() -> None:
    cli(prog_name="bench")


if __name__ == "__main__":  # pragma: no cover
    main()
