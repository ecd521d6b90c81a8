"""``bench compare RUN_A RUN_B``: paired accuracies, exact McNemar, per-category deltas, and
a seeded paired bootstrap of the binary F1 difference."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson
from policybench.service.binary import FailureRule
from policybench.service.compare import Comparison, UnpairableRuns, compare_runs
from policybench.service.errors import StoreError
from rich.console import Console
from rich.table import Table

from .common import EXIT_OK, EXIT_USAGE, BenchError, open_store
from .options import failures_option, json_option, option, store_option


def _acc(acc: dict[str, Any] | None) -> str:
    if acc is None:
        return "n/a"
    return f"{acc['value']:.1%} [{acc['ci_low']:.1%}, {acc['ci_high']:.1%}] ({acc['successes']}/{acc['n']})"


def _f1(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_comparison(cmp: Comparison, console: Console) -> None:
    table = Table(title="paired comparison", title_justify="left", header_style="bold")
    for col in ("", "run", "model / policies / strategy", "accuracy [95% Wilson]"):
        table.add_column(col)
    for name, row, acc in (
        ("A", cmp.run_a, cmp.accuracy_a),
        ("B", cmp.run_b, cmp.accuracy_b),
    ):
        sim = " (sim)" if row.backend == "simulated" else ""
        table.add_row(
            name, row.run_id, f"{row.model}{sim} / {row.policy_set} / {row.strategy}", _acc(acc)
        )
    console.print(table)
    console.print(
        f"pairs {cmp.pairs}; both right {cmp.both}, only A {cmp.only_a}, only B {cmp.only_b}, "
        f"neither {cmp.neither}; exact McNemar p = {cmp.p_value:.4g}"
    )
    if cmp.unpaired_a or cmp.unpaired_b:
        console.print(
            f"[yellow]note:[/yellow] {cmp.unpaired_a} record(s) of A and {cmp.unpaired_b} of B "
            "have no scored partner and are left out"
        )
    cats = Table(title="per category (F1 on the paired samples)", title_justify="left")
    for col in ("category", "support", "F1 A", "F1 B", "delta"):
        cats.add_column(col, justify="left" if col == "category" else "right")
    for cat, m in cmp.per_category.items():
        delta = m["delta"]
        cats.add_row(
            cat,
            str(m["support"]),
            _f1(m["f1_a"]),
            _f1(m["f1_b"]),
            "n/a" if delta is None else f"{delta:+.3f}",
        )
    console.print(cats)
    console.print(cmp.sentence())
    console.print(cmp.f1_sentence())
    if cmp.scores is not None:
        console.print(cmp.scores["sentence"])


def compare_command(
    run_a: str,
    run_b: str,
    store_path: str | None,
    as_json: bool,
    failures: str | None = None,
    seed: int = 0,
) -> int:
    store = open_store(store_path)
    try:
        try:
            rule = None if failures is None else FailureRule(failures)
            cmp = compare_runs(store, run_a, run_b, rule, seed)
        except (StoreError, UnpairableRuns) as exc:
            raise BenchError(str(exc), EXIT_USAGE) from exc
    finally:
        store.close()
    if as_json:
        click.echo(orjson.dumps(cmp.as_dict()).decode())
    else:
        render_comparison(cmp, Console())
    return EXIT_OK


@click.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@failures_option(None)
@option("--seed", type=int, default=0, show_default=True, help="Seed of the paired F1 bootstrap.")
@store_option
@json_option
def compare_cmd(
    run_a: str, run_b: str, failures: str | None, seed: int, store: str | None, as_json: bool
) -> None:
    """Compare two runs on the same samples: Wilson intervals and the exact McNemar test.

    Binary F1 (unsafe = positive) is compared by a seeded paired bootstrap."""

    sys.exit(compare_command(run_a, run_b, store, as_json, failures, seed))
