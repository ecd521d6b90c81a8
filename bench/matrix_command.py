"""``bench matrix experiment.toml``: run every cell of a grid, skipping the ones already done.

Every cell is validated and its inputs read before the first request (bad input exits 2
naming the file and key).  Then, cell by cell: a cell with a finished run of the same
measuring config is skipped (no request sent), a partial one is resumed, the rest run
new.  Ctrl-C stops the cell in progress the way ``bench run`` does (grace period, flush,
resumable) and the matrix stops with exit 130; running the command again picks up there.
At the end the Model x Policy grid is printed with 95% intervals.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import click
import orjson
from policybench.service.errors import InputError, PolicybenchError, RunError
from policybench.service.matrix import Cell, load_matrix
from policybench.service.matrix_runner import CellOutcome, MatrixRunner, prepare_cells
from policybench.service.runner import Prepared

from .common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    BenchError,
    open_store,
    stderr_console,
)
from .interrupts import graceful_interrupts
from .options import json_option, metric_option, option, store_option
from .sim_backend import simulated_server


def matrix_command(opts: dict[str, Any]) -> int:
    from .report.data import grid_from_plan
    from .report.terminal import render_grid

    console = stderr_console()
    try:
        spec = load_matrix(opts["file"], force_sim=opts["sim"])
        cells = prepare_cells(spec)
    except InputError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    store = open_store(opts["store"])
    try:
        api_key = os.environ.get(opts["api_key_env"]) if opts["api_key_env"] else None
        observer_factory = None
        if not opts["no_progress"]:
            from .progress import ProgressObserver

            def observer_factory() -> Any:
                return ProgressObserver(console)

        def on_cell(o: CellOutcome) -> None:
            c = o.cell
            console.print(
                f"{o.action:>7}  {c.model} / {c.policies} / {c.strategy} / "
                f"{os.path.basename(c.dataset)}  -> run {o.run_id} [{o.status}]"
            )

        runner = MatrixRunner(
            store,
            api_key=api_key,
            observer_factory=observer_factory,
            on_cell=on_cell,
            simulator=simulated_server,
        )
        console.print(
            f"matrix {spec.name}: {len(cells)} cells"
            + (" against the simulated server" if spec.simulated else "")
        )
        try:
            plan = asyncio.run(_run_with_signals(runner, cells, console))
        except (asyncio.CancelledError, KeyboardInterrupt):
            # a second Ctrl-C cancelled the requests in flight; what finished is stored
            console.print("[yellow]interrupted:[/yellow] run the same command again to resume")
            return EXIT_INTERRUPTED
        except RunError as exc:
            console.print(f"[red]error:[/red] {exc}")
            return EXIT_FAILURE
        except PolicybenchError as exc:
            raise BenchError(str(exc), EXIT_FAILURE) from exc
        grid = grid_from_plan(
            spec, store, [(o.cell, o.run_id) for o in plan], opts.get("metric") or "multi"
        )
        if opts["as_json"]:
            render_grid(grid, console)
            click.echo(
                orjson.dumps(
                    {
                        "matrix": spec.name,
                        "simulated": spec.simulated,
                        "interrupted": runner.stopped,
                        "metric": grid.metric,
                        "cells": [
                            {
                                "model": o.cell.model,
                                "policies": o.cell.policies,
                                "strategy": o.cell.strategy,
                                "dataset": o.cell.dataset,
                                "action": o.action,
                                "run_id": o.run_id,
                                "status": o.status,
                                "multi_policy_accuracy": grid.accuracy(o.cell.key),
                                "binary_accuracy": grid.figure(o.cell.key, "binary_accuracy"),
                                "binary_f1": grid.figure(o.cell.key, "binary_f1"),
                                "failure_rule": None
                                if (cell_run := grid.run(o.cell.key)) is None
                                else cell_run.summary.failure_rule,
                            }
                            for o in plan
                        ],
                    }
                ).decode()
            )
        else:
            from rich.console import Console

            render_grid(grid, Console())
        if any(o.status not in ("success",) for o in plan):
            if any(o.status == "error" for o in plan):
                return EXIT_FAILURE
            console.print("[yellow]interrupted:[/yellow] run the same command again to resume")
            return EXIT_INTERRUPTED
        return EXIT_OK
    finally:
        store.close()


async def _run_with_signals(
    runner: MatrixRunner, cells: list[tuple[Cell, Prepared]], console: Any
) -> list[CellOutcome]:
    message = "finishing requests in flight, then stopping the matrix"
    with graceful_interrupts(runner.request_stop, message, console):
        return await runner.run(cells)


@click.command("matrix")
@click.argument("file", type=click.Path(dir_okay=False))
@option("--sim", is_flag=True, help="Run every cell against the simulated server.")
@option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the server's API key (never stored).",
)
@metric_option
@option("--no-progress", is_flag=True, help="No progress bar.")
@store_option
@json_option
def matrix_cmd(**opts: Any) -> None:
    """Run a grid of runs (models x policies x strategies x datasets) from a TOML file."""

    sys.exit(matrix_command(opts))
