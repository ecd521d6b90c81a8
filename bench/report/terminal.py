"""Terminal tables: the runs side by side, and the matrix as the seed's Model x Policy grid."""

from __future__ import annotations

import os

from rich.console import Console
from rich.table import Table

from . import fmt
from .data import Grid, ReportData


def render_grid(grid: Grid, console: Console) -> None:
    """One Model x Policy table per (strategy, dataset); cells: the metric [95% CI]."""
    for strategy, dataset in grid.tables():
        title = f"{grid.name}: {grid.metric_name}, {strategy}, {os.path.basename(dataset)}" + (
            "  (simulated server)" if grid.simulated else ""
        )
        table = Table(title=title, title_justify="left", header_style="bold")
        table.add_column("model")
        for pol in grid.policies:
            table.add_column(pol, justify="right")
        for model in grid.models:
            row = [model]
            for pol in grid.policies:
                run = grid.run((model, pol, strategy, dataset))
                if run is None:
                    row.append("not run")
                    continue
                s = run.summary.to_json()
                text = fmt.acc(grid.figure(run_key := (model, pol, strategy, dataset)))
                if grid.metric == "f1" and grid.figure(run_key) is not None:
                    text += f"\nfailures: {fmt.failures(s)}"
                text += f"\n{fmt.rate(s.get('samples_per_hour'))} samples/h"
                if run.row.status != "success":
                    text += f"\n({run.row.status}, {s['completed']}/{s['samples']})"
                row.append(text)
            table.add_row(*row)
        console.print(table)


def render_runs(data: ReportData, console: Console) -> None:
    table = Table(title=data.title, title_justify="left", header_style="bold")
    for col in fmt.RUN_COLUMNS:
        table.add_column(col, justify="left" if col in ("run", "status") else "right")
    for run in data.runs:
        table.add_row(*fmt.run_cells(run))
    console.print(table)
    server_rows = [cells for run in data.runs if (cells := fmt.server_cells(run))]
    if server_rows:
        servers = Table(
            title="the servers' own figures (their /metrics over each run)",
            title_justify="left",
            header_style="bold",
        )
        for col in fmt.SERVER_COLUMNS:
            servers.add_column(col, justify="left" if col == "run" else "right")
        for cells in server_rows:
            servers.add_row(*cells)
        console.print(servers)
    if data.grid is not None:
        render_grid(data.grid, console)
    for cmp in data.findings:
        mark = "[green]significant[/green]" if cmp.significant else "not significant"
        console.print(
            f"{cmp.run_b.run_id} vs {cmp.run_a.run_id}: {mark}. {cmp.sentence()} {cmp.f1_sentence()}"
        )
    if data.simulated:
        console.print(
            "[dim]Figures marked (sim) come from the simulated server, not a model.[/dim]"
        )
