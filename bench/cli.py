"""The ``bench`` command line: a group that loads each command's module only when it runs.

Each command lives in its own module (``bench/*_command.py``), which declares its
options and a thin body; :data:`COMMANDS` maps a command name to that module, so
``bench --help`` imports none of them (and none of the engine) and answers at once.
Nothing imports this module but the ``bench`` entry point: what commands share (exit
codes, :class:`~policybench.bench.common.BenchError`, the store, consoles) is in
``bench/common.py``.  Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input, 130
interrupted.
"""

from __future__ import annotations

import importlib

import click

#: name -> (module under policybench.bench, attribute, short help shown by ``bench --help``).
#: A test checks each short help against the command's own docstring.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "cancel": ("client_command", "cancel_cmd", "Cancel a queued or running service run."),
    "compare": (
        "compare_command",
        "compare_cmd",
        "Compare two runs on the same samples: Wilson intervals and the exact McNemar test.",
    ),
    "datasets": (
        "datasets_command",
        "datasets",
        "Datasets: the catalog, what is in a file, validating and importing.",
    ),
    "export": (
        "export_command",
        "export_cmd",
        "Export a run's per-sample records, one row per sample with its sample_id.",
    ),
    "export-batch": (
        "offline_command",
        "export_batch_cmd",
        "Write a run's requests as an OpenAI Batch / `vllm run-batch` input file.",
    ),
    "import-batch": (
        "offline_command",
        "import_batch_cmd",
        "Score a `vllm run-batch` / OpenAI Batch output file into a stored run "
        "(same options as export-batch).",
    ),
    "matrix": (
        "matrix_command",
        "matrix_cmd",
        "Run a grid of runs (models x policies x strategies x datasets) from a TOML file.",
    ),
    "parse": (
        "parse_command",
        "parse_cmd",
        "Parse raw model answers: JSON lines on stdin, one JSON verdict per line on stdout.",
    ),
    "perf": (
        "perf_command",
        "perf_group",
        "Performance benchmarks: figures and ratios measured side by side in one run.",
    ),
    "report": (
        "report_command",
        "report_cmd",
        "Report stored runs (all of them by default) or a matrix; never re-runs anything.",
    ),
    "rescore": (
        "rescore_command",
        "rescore_cmd",
        "Re-parse a stored run's raw answers with today's parsers; no request is sent.",
    ),
    "run": (
        "run_command",
        "run_cmd",
        "Run a benchmark: classify every sample of a dataset and score it.",
    ),
    "runs": ("runs_command", "runs_cmd", "List stored runs, newest last."),
    "score-outputs": (
        "score_outputs_command",
        "score_outputs_cmd",
        "Score FILE's already-generated answers against --dataset, with no server.",
    ),
    "serve": (
        "serve_command",
        "serve_cmd",
        "Run the batch service: an HTTP API that queues, runs and reports benchmark jobs.",
    ),
    "show": ("show_command", "show_cmd", "Print a stored run's summary."),
    "sim": (
        "sim_command",
        "sim_cmd",
        "Serve the simulated OpenAI-compatible guard model (no GPU needed).",
    ),
    "status": (
        "client_command",
        "status_cmd",
        "Show one run, or every run, of a running `bench serve`.",
    ),
    "submit": (
        "client_command",
        "submit_cmd",
        "Submit a run to a running `bench serve`; prints its run id.",
    ),
    "suite": (
        "suite_command",
        "suite_cmd",
        "Run a suite of protocol datasets and print F1 per set and the weighted average.",
    ),
    "sweep": (
        "sweep_command",
        "sweep_cmd",
        "Throughput and latency at each concurrency; marks the knee; writes CSV and PNG.",
    ),
    "view": (
        "view_command",
        "view_cmd",
        "Web viewer over the run store: runs, samples, one sample, compare; live runs update.",
    ),
    "watch": (
        "client_command",
        "watch_cmd",
        "Follow a service run's live progress (server-sent events) until it ends.",
    ),
}


def load_command(name: str) -> click.Command:
    """Import the module of command ``name`` and return its click command."""
    module, attr, _help = COMMANDS[name]
    command = getattr(importlib.import_module(f"policybench.bench.{module}"), attr)
    assert isinstance(command, click.Command), f"{module}.{attr} is not a click command"
    return command


class LazyGroup(click.Group):
    """Lists commands from :data:`COMMANDS`; imports a command's module only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="policybench")
def cli() -> None:
    """policybench: benchmark LLM safety classifiers against written policies, fast."""


def main() -> None:
    from .crash import guarded

    guarded(lambda: cli(prog_name="bench"))


if __name__ == "__main__":  # pragma: no cover
    main()
