"""``bench serve``: the batch service, until SIGTERM or Ctrl-C.

Options are validated here into a frozen :class:`ServiceConfig` (a non-loopback address
without a token, a missing root: exit 2 naming the option).  The token and the upstream
API key are read from environment variables named by options, never from argv.  On
SIGTERM/SIGINT the service stops taking work, gives running jobs the grace period to
stop at a checkpoint (they resume at the next start) and exits 0.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
from policybench.service.api import ServiceConfig, serve
from policybench.service.api.settings import normalise_url
from policybench.service.errors import ConfigError

from .common import EXIT_OK, EXIT_USAGE, BenchError, open_store
from .interrupts import stop_on_signal
from .options import option, store_option
from .sim_backend import simulated_server


def build_settings(opts: dict[str, Any]) -> ServiceConfig:
    token = os.environ.get(opts["token_env"]) if opts["token_env"] else None
    api_key = os.environ.get(opts["api_key_env"]) if opts["api_key_env"] else None
    settings = ServiceConfig(
        host=opts["host"],
        port=opts["port"],
        token=token or None,
        max_jobs=opts["max_jobs"],
        max_inflight_per_endpoint=opts["max_inflight_per_endpoint"],
        dataset_roots=tuple(Path(p).resolve() for p in opts["dataset_root"]),
        policy_roots=tuple(Path(p).resolve() for p in opts["policy_root"]),
        max_body_bytes=opts["max_body_bytes"],
        grace_period=opts["grace_period"],
        api_key=api_key or None,
        upstreams=tuple(normalise_url(u) or u for u in opts["upstream"]),
        header_timeout=opts["header_timeout"],
        max_connections=opts["max_connections"],
        sim_backend=simulated_server,
    )
    try:
        return settings.check()
    except ConfigError as exc:
        raise BenchError(f"--{exc.field}: {exc.problem}", EXIT_USAGE) from exc


def serve_command(opts: dict[str, Any]) -> int:
    settings = build_settings(opts)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    store = open_store(opts["store"])
    try:
        asyncio.run(_serve(settings, store))
    except ConfigError as exc:  # cannot listen on --host/--port
        raise BenchError(f"--{exc.field}: {exc.problem}", EXIT_USAGE) from exc
    finally:
        store.close()
    return EXIT_OK


async def _serve(settings: ServiceConfig, store: Any) -> None:
    with stop_on_signal() as stop:
        await _serve_until(settings, store, stop)


async def _serve_until(settings: ServiceConfig, store: Any, stop: asyncio.Event) -> None:
    async with serve(settings, store) as url:
        shown = dataclasses.replace(settings, sim_backend=None)
        click.echo(f"policybench service on {url}", err=True)
        click.echo(
            f"  max jobs {shown.max_jobs}, in-flight cap per endpoint "
            f"{shown.max_inflight_per_endpoint}, token {'required' if shown.requires_token else 'off (loopback)'}",
            err=True,
        )
        click.echo(url)  # stdout: machine-readable, one line
        await stop.wait()
        click.echo("stopping: no new jobs; running jobs get the grace period", err=True)


@click.command("serve")
@option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (loopback by default; any other needs a token).",
)
@option("--port", type=int, default=8080, show_default=True, help="Port (0 = any free port).")
@option(
    "--token-env",
    default="POLICYBENCH_SERVICE_TOKEN",
    show_default=True,
    help="Environment variable holding the bearer token clients must send.",
)
@option(
    "--max-jobs",
    type=int,
    default=2,
    show_default=True,
    help="Runs executed at once; the rest wait in submission order.",
)
@option(
    "--max-inflight-per-endpoint",
    type=int,
    default=64,
    show_default=True,
    help="Requests in flight per upstream server, all runs together.",
)
@option(
    "--dataset-root",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Folder submitted dataset paths must lie in (repeatable).",
)
@option(
    "--policy-root",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Folder submitted policy folders must lie in (repeatable).",
)
@option(
    "--max-body-bytes",
    type=int,
    default=256 * 1024,
    show_default=True,
    help="Largest request body accepted (413 above).",
)
@option(
    "--grace-period",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds running jobs get to stop at a checkpoint on SIGTERM.",
)
@option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the upstream servers' API key (never stored or shown).",
)
@option(
    "--upstream",
    multiple=True,
    metavar="URL",
    help="A model server jobs may use (repeatable); the API key is only ever sent to these, "
    "and a job without --base-url goes to the first. Required when an API key is set.",
)
@option(
    "--header-timeout",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds a client has to send a request's headers (slow and half-open "
    "connections are closed).",
)
@option(
    "--max-connections",
    type=click.IntRange(8, 1_000_000),
    default=1024,
    show_default=True,
    help="Client connections held at most; at the cap the oldest idle ones are closed.",
)
@store_option
def serve_cmd(**opts: Any) -> None:
    """Run the batch service: an HTTP API that queues, runs and reports benchmark jobs."""

    sys.exit(serve_command(opts))
