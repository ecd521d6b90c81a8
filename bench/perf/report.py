"""Printing benchmark figures: a table on stderr, or one JSON object on stdout."""

from __future__ import annotations

import platform
import sys
from typing import Any

import orjson


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def print_figures(title: str, figures: dict[str, Any], as_json: bool) -> None:
    figures = {**figures, "machine": machine()}
    if as_json:
        sys.stdout.write(orjson.dumps(figures).decode() + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench perf {title}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, float):
            text = f"{value:.3f}" if "ratio" in key else f"{value:,.1f}"
        else:
            text = str(value)
        table.add_row(key, text)
    Console().print(table)
