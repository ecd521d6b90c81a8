"""``bench report [RUNS...|--matrix FILE] --format terminal|markdown|html -o OUT``.

Re-renders stored runs; never runs anything.  With no RUNS and no ``--matrix``, every run
in the store is reported.  Markdown and HTML written to a file also get their charts as
PNG files beside it (``OUT-STEM-<chart>.png``); the HTML page embeds them as well.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from policybench.service.atomic import atomic_path
from policybench.service.errors import InputError, StoreError

from .common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, BenchError, open_store
from .options import metric_option, option, store_option


def _write(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _chart_files(out: Path, charts: dict[str, bytes]) -> dict[str, str]:
    """Write each chart beside ``out``; returns name -> file name relative to ``out``."""
    rel = {}
    for name, png in charts.items():
        target = out.with_name(f"{out.stem}-{name}.png")
        _write(target, png)
        rel[name] = target.name
    return rel


def report_command(opts: dict[str, Any]) -> int:
    from .report.data import collect, grid_from_matrix

    store = open_store(opts["store"])
    try:
        grid = None
        title = opts["title"]
        try:
            if opts["matrix"]:
                from policybench.service.matrix import load_matrix

                spec = load_matrix(opts["matrix"], force_sim=opts["sim"])
                grid = grid_from_matrix(spec, store, opts.get("metric") or "multi")
                title = title or f"policybench report: matrix {spec.name}"
            run_ids = list(opts["runs"])
            if not run_ids and grid is None:
                run_ids = [r.run_id for r in store.list_runs()]
            data = collect(store, run_ids, grid=grid, title=title or "policybench report")
        except InputError as exc:
            raise BenchError(str(exc), EXIT_USAGE) from exc
        except StoreError as exc:
            raise BenchError(str(exc), EXIT_USAGE) from exc
    finally:
        store.close()
    if not data.runs:
        raise BenchError("no runs to report", EXIT_USAGE)
    fmt, out = opts["format"], opts["output"]
    try:
        if fmt == "terminal":
            from rich.console import Console

            from .report.terminal import render_runs

            if out:
                with open(out, "w", encoding="utf-8") as fh:
                    render_runs(data, Console(file=fh, width=200, no_color=True))
            else:
                render_runs(data, Console())
            return EXIT_OK
        from .report.charts import all_charts

        if fmt == "markdown":
            from .report.markdown import render_markdown

            if not out:
                print(render_markdown(data))
                return EXIT_OK
            path = Path(out)
            rel = _chart_files(path, all_charts(data))
            _write(path, render_markdown(data, rel).encode())
        else:
            from .report.html import render_html

            path = Path(out or "report.html")
            charts = all_charts(data)
            _chart_files(path, charts)
            _write(path, render_html(data, charts).encode())
    except OSError as exc:
        raise BenchError(f"{out}: {exc}", EXIT_FAILURE) from exc
    import click

    click.echo(f"report written to {path} ({len(data.runs)} runs)", err=True)
    return EXIT_OK


@click.command("report")
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
@metric_option
@option("--title", default=None, help="Report title.")
@store_option
def report_cmd(**opts: Any) -> None:
    """Report stored runs (all of them by default) or a matrix; never re-runs anything."""

    sys.exit(report_command(opts))
