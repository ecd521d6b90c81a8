"""``bench sim``: serve the simulated server until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import click
from policybench.service.datasets import resolve
from policybench.service.errors import InputError

from .cli import EXIT_OK, EXIT_USAGE, BenchError
from .sim import SimConfig, serve_in_background


def sim_command(opts: dict[str, Any]) -> int:
    if not 0.0 <= opts["error_rate"] <= 1.0:
        raise BenchError("--error-rate: must be between 0 and 1", EXIT_USAGE)
    try:
        paths = tuple(str(resolve(d)) for d in opts["datasets"])
    except InputError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    config = SimConfig(
        datasets=paths,
        model=opts["model"],
        error_rate=opts["error_rate"],
        seed=opts["seed"],
        max_num_seqs=opts["max_num_seqs"],
        time_scale=opts["time_scale"],
    )
    asyncio.run(_serve(config, opts["host"], opts["port"]))
    return EXIT_OK


async def _serve(config: SimConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with serve_in_background(config, host, port) as (url, _app):
        click.echo(f"simulated server on {url} (model {config.model!r}); Ctrl-C to stop", err=True)
        await stop.wait()
