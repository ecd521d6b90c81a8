"""``bench sweep`` command: options -> prepared config -> sweep -> table, CSV and PNG."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
import orjson
from policybench.service.config import build_run_config
from policybench.service.errors import InputError
from policybench.service.runner import prepare

from .common import EXIT_OK, EXIT_USAGE, BenchError
from .options import json_option, option, store_option
from .sweep import steps_as_dicts, sweep, write_csv, write_png


def _levels(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise BenchError(
            f"--levels: {text!r} is not a comma-separated list of integers", EXIT_USAGE
        ) from exc
    if not levels or min(levels) < 1:
        raise BenchError("--levels: every level must be >= 1", EXIT_USAGE)
    return levels


def sweep_command(opts: dict[str, Any]) -> int:
    levels = _levels(opts["levels"])
    values = {
        k: opts[k] for k in ("dataset", "policies", "strategy", "model", "base_url", "max_tokens")
    }
    values["limit"] = opts["samples"]
    if opts["sim"]:
        values["backend"] = "simulated"
        values["sim"] = {
            "error_rate": 0.0,
            "time_scale": opts["sim_time_scale"],
            "max_num_seqs": opts["sim_max_num_seqs"],
        }
    try:
        prepared = prepare(build_run_config(values))
    except InputError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    out_dir = Path(opts["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)

    async def go() -> Any:
        from .sim_backend import server_for

        async with server_for(prepared) as ready:
            return await sweep(
                ready, levels, store_path=opts["store"], doubling_max=opts["max_level"]
            )

    steps, knee = asyncio.run(go())
    write_csv(steps, out_dir / "sweep.csv")
    png = write_png(steps, knee, out_dir / "sweep.png")
    if opts["as_json"]:
        sys.stdout.write(orjson.dumps(steps_as_dicts(steps, knee)).decode() + "\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="throughput and latency by concurrency", title_justify="left")
        for col in ("concurrency", "samples/hour", "requests/s", "p50", "p90", "p99", ""):
            table.add_column(col, justify="right")
        for i, s in enumerate(steps):
            table.add_row(
                str(s.concurrency),
                f"{s.samples_per_s * 3600:,.0f}",
                f"{s.requests_per_s:,.1f}",
                *(f"{v * 1000:.0f} ms" if v is not None else "n/a" for v in (s.p50, s.p90, s.p99)),
                "<- knee" if i == knee else "",
            )
        Console().print(table)
    written = [str(out_dir / "sweep.csv")] + ([str(out_dir / "sweep.png")] if png else [])
    print("wrote " + ", ".join(written), file=sys.stderr)
    return EXIT_OK


@click.command("sweep")
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

    sys.exit(sweep_command(opts))
