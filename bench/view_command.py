"""``bench view``: the web viewer over a run store, until Ctrl-C.

The viewer itself is the engine's (``service/viewer``, also mounted at ``/ui`` by
``bench serve``); this command validates its options into the same frozen
:class:`ServiceConfig` the service uses (a non-loopback address without a token exits 2
naming the option), opens the store (migrating an older schema) and serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

import click
from policybench.service.api import ServiceConfig
from policybench.service.errors import ConfigError

from .common import EXIT_OK, EXIT_USAGE, BenchError, open_store
from .options import option, store_option


def build_settings(opts: dict[str, Any]) -> ServiceConfig:
    token = os.environ.get(opts["token_env"]) if opts["token_env"] else None
    settings = ServiceConfig(host=opts["host"], port=opts["port"], token=token or None)
    try:
        return settings.check()
    except ConfigError as exc:
        raise BenchError(f"--{exc.field}: {exc.problem}", EXIT_USAGE) from exc


def view_command(opts: dict[str, Any]) -> int:
    settings = build_settings(opts)
    store = open_store(opts["store"])
    try:
        asyncio.run(_view(settings, store))
    finally:
        store.close()
    return EXIT_OK


async def _view(settings: ServiceConfig, store: Any) -> None:
    from policybench.service.viewer.standalone import serve_viewer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with serve_viewer(settings, store) as url:
        click.echo(
            f"policybench viewer on {url}/ui/ over {store.path} "
            f"(token {'required' if settings.requires_token else 'off (loopback)'})",
            err=True,
        )
        click.echo(f"{url}/ui/")  # stdout: machine-readable, one line
        await stop.wait()


@click.command("view")
@option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (loopback by default; any other needs a token).",
)
@option("--port", type=int, default=8090, show_default=True, help="Port (0 = any free port).")
@option(
    "--token-env",
    default="POLICYBENCH_SERVICE_TOKEN",
    show_default=True,
    help="Environment variable holding the token a browser signs in with.",
)
@store_option
def view_cmd(**opts: Any) -> None:
    """Web viewer over the run store: runs, samples, one sample, compare; live runs update."""
    sys.exit(view_command(opts))
