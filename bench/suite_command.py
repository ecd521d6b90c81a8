"""``bench suite SUITE.toml``: run models over a list of protocol datasets and print the
field's standard table (F1 per set, the average weighted by set size), each number with
its provenance, as terminal, markdown, HTML or LaTeX.

The runs are a matrix (:mod:`policybench.service.suite` builds it, the matrix runner runs
it): a cell already measured is skipped, a partial one resumed, Ctrl-C stops and the
same command picks up there.  ``--no-run`` prints the table from the store alone.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from .options import json_option, option, store_option


async def server_version(base_url: str, seconds: float = 5.0) -> str | None:
    """``GET /version`` of a vLLM server (``{"version": ...}``), or ``None``."""
    import aiohttp

    root = base_url.removesuffix("/v1")
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.get(f"{root}/version") as resp,
        ):
            if resp.status != 200:
                return None
            doc = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    version = doc.get("version") if isinstance(doc, dict) else None
    return f"vLLM {version}" if isinstance(version, str) else None


@click.command("suite")
@click.argument("file", type=click.Path(dir_okay=False))
@option("--sim", is_flag=True, help="Run every cell against the simulated server.")
@option(
    "--format",
    "fmt",
    type=click.Choice(["terminal", "markdown", "html", "latex"]),
    default="terminal",
    show_default=True,
    help="Table format.",
)
@option("--output", "-o", default=None, type=click.Path(dir_okay=False), help="Write it here.")
@option("--no-run", is_flag=True, help="Only print the table from the runs already stored.")
@option("--no-progress", is_flag=True, help="No progress bar.")
@option("--api-key-env", default=None, help="Environment variable holding the API key.")
@store_option
@json_option
def suite_cmd(file: str, **opts: Any) -> None:
    """Run a suite of protocol datasets and print F1 per set and the weighted average."""
    sys.exit(suite_command(file, opts))


def suite_command(file: str, opts: dict[str, Any]) -> int:
    from policybench.service.errors import InputError, PolicybenchError, RunError
    from policybench.service.matrix import find_run
    from policybench.service.matrix_runner import CellOutcome, MatrixRunner, prepare_cells
    from policybench.service.suite import load_suite, suite_table

    from . import suite_render
    from .common import (
        EXIT_FAILURE,
        EXIT_INTERRUPTED,
        EXIT_OK,
        EXIT_USAGE,
        BenchError,
        open_store,
        stderr_console,
    )
    from .matrix_command import _run_with_signals
    from .sim_backend import simulated_server

    console = stderr_console()
    try:
        spec = load_suite(file, force_sim=opts["sim"])
        cells = prepare_cells(spec.matrix)
    except InputError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    store = open_store(opts["store"])
    try:
        version: str | None = None  # the simulated server is named as such in `server`
        if not spec.matrix.simulated:
            urls = {c.config.base_url for c in spec.matrix.cells}
            found = {asyncio.run(server_version(u)) for u in urls}
            version = ", ".join(sorted(v for v in found if v)) or None
        code = EXIT_OK
        if opts["no_run"]:
            run_ids = {}
            for cell, prepared in cells:
                row = find_run(
                    store, cell.config, prepared.dataset.fingerprint, prepared.policies.digest
                )
                run_ids[(cell.model, cell.dataset)] = row.run_id if row else None
        else:
            observer_factory = None
            if not opts["no_progress"]:
                from .progress import ProgressObserver

                def observer_factory() -> Any:
                    return ProgressObserver(console)

            def on_cell(o: CellOutcome) -> None:
                console.print(
                    f"{o.action:>7}  {o.cell.model} / {os.path.basename(o.cell.dataset)}"
                    f"  -> run {o.run_id} [{o.status}]"
                )

            api_key = os.environ.get(opts["api_key_env"]) if opts["api_key_env"] else None
            runner = MatrixRunner(
                store,
                api_key=api_key,
                observer_factory=observer_factory,
                on_cell=on_cell,
                simulator=simulated_server,
            )
            console.print(
                f"suite {spec.name}: {len(spec.models)} models x {len(spec.sets)} sets"
                + (" against the simulated server" if spec.matrix.simulated else "")
            )
            try:
                plan = asyncio.run(_run_with_signals(runner, cells, console))
            except (asyncio.CancelledError, KeyboardInterrupt):
                console.print("[yellow]interrupted:[/yellow] run the same command again to resume")
                return EXIT_INTERRUPTED
            except RunError as exc:
                console.print(f"[red]error:[/red] {exc}")
                return EXIT_FAILURE
            except PolicybenchError as exc:
                raise BenchError(str(exc), EXIT_FAILURE) from exc
            run_ids = {(o.cell.model, o.cell.dataset): o.run_id for o in plan}
            if any(o.status != "success" for o in plan):
                code = EXIT_FAILURE if any(o.status == "error" for o in plan) else EXIT_INTERRUPTED
        table = suite_table(spec, store, run_ids, version)
    finally:
        store.close()
    if opts["as_json"]:
        click.echo(orjson.dumps(table.as_dict()).decode())
    elif opts["fmt"] == "terminal" and not opts["output"]:
        from rich.console import Console

        suite_render.terminal(table, Console())
    else:
        fmt = "markdown" if opts["fmt"] == "terminal" else opts["fmt"]
        text = suite_render.render(table, fmt)
        if opts["output"]:
            Path(opts["output"]).write_text(text, encoding="utf-8")
            console.print(f"wrote {opts['output']}")
        else:
            click.echo(text, nl=False)
    if code == EXIT_INTERRUPTED:
        console.print("[yellow]interrupted:[/yellow] run the same command again to resume")
    return code
