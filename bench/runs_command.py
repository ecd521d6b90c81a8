"""``bench runs``: the stored runs as a table (or JSON), newest last."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from .common import open_store

if TYPE_CHECKING:
    from policybench.service.summary import Interval
from .options import json_option, store_option


@click.command("runs")
@store_option
@json_option
def runs_cmd(store: str | None, as_json: bool) -> None:
    """List stored runs, newest last."""
    import orjson
    from rich.console import Console
    from rich.table import Table

    db = open_store(store)
    rows = db.list_runs()

    def _json(value: Interval | None) -> dict[str, Any] | None:
        return None if value is None else value.to_json()

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
                "multi_policy_accuracy": _json(
                    r.summary.multi_policy_accuracy if r.summary else None
                ),
                "binary_accuracy": _json(r.summary.binary_accuracy if r.summary else None),
                "samples_per_hour": r.summary.samples_per_hour if r.summary else None,
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
        s = r.summary
        multi = s and s.multi_policy_accuracy
        binary = s and s.binary_accuracy
        sph = s and s.samples_per_hour
        table.add_row(
            r.run_id,
            r.status,
            r.model + (" (sim)" if r.backend == "simulated" else ""),
            r.strategy,
            r.policy_set,
            Path(r.dataset).name,
            f"{r.completed}/{r.samples_total}",
            f"{multi.value:.1%}" if multi else "n/a",
            f"{binary.value:.1%}" if binary else "n/a",
            f"{sph:,.0f}" if sph else "n/a",
        )
    # a terminal gets its own width; a pipe or file gets whole rows instead of 80 columns
    Console(width=None if sys.stdout.isatty() else 200).print(table)
