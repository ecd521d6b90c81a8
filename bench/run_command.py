"""``bench run``: options -> validated config -> one ``asyncio.run`` -> summary and exit code.

Signals are handled here, the one place that owns a run's shutdown: the first Ctrl-C
(or SIGTERM) stops dispatching and lets in-flight requests finish within the grace
period; a second one cancels them at once.  Either way the store is flushed and the
partial summary printed, and the exit code is 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click
import orjson
from policybench.service.config import RunConfig, build_run_config
from policybench.service.errors import InputError, PolicybenchError, StoreError
from policybench.service.option_meta import operational_fields
from policybench.service.runner import (
    Prepared,
    Run,
    RunResult,
    check_resumable,
    check_servers,
    prepare,
)

from .common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    BenchError,
    open_store,
    stderr_console,
)
from .config_options import config_options, config_values, given_on_command_line
from .interrupts import graceful_interrupts, interrupt_on_signal
from .options import json_option, option, store_option
from .sim_backend import server_for

#: Options a resumed run may change: how it runs, not what it measures.
_RESUMABLE_OVERRIDES = operational_fields(RunConfig)


def _sim_settings(opts: dict[str, Any]) -> dict[str, Any]:
    for key in ("sim_error_rate",):
        if not 0.0 <= opts[key] <= 1.0:
            raise BenchError(f"--sim-error-rate: {opts[key]} is not between 0 and 1", EXIT_USAGE)
    if opts["sim_time_scale"] < 0:
        raise BenchError("--sim-time-scale: must be >= 0", EXIT_USAGE)
    if opts["sim_max_num_seqs"] is not None and opts["sim_max_num_seqs"] < 1:
        raise BenchError("--sim-max-num-seqs: must be >= 1", EXIT_USAGE)
    settings = {
        "error_rate": opts["sim_error_rate"],
        "seed": opts["sim_seed"],
        "time_scale": opts["sim_time_scale"],
        "max_num_seqs": opts["sim_max_num_seqs"],
        "profile": opts.get("sim_profile") or "gpt-oss-safeguard-20b-h100",
        "style": opts.get("sim_style") or "auto",
        "faults": list(opts.get("sim_faults") or ()),
        "independent_models": bool(opts.get("sim_independent_models")),
        "logprob_separation": opts.get("sim_logprob_separation", 2.0),
    }
    from .sim import FaultSpecError, SimConfigError, sim_config_from_settings

    try:  # validate now: a bad profile, style or fault is a usage error before any request
        sim_config_from_settings(settings, datasets=(), model="check")
    except (SimConfigError, FaultSpecError) as exc:
        raise BenchError(f"--sim: {exc}", EXIT_USAGE) from exc
    return settings


def _resumable_names() -> str:
    names = {"base_url": "base-url", "endpoints": "base-url"}
    return ", ".join(
        sorted({"--" + names.get(k, k.replace("_", "-")) for k in _RESUMABLE_OVERRIDES})
    )


def _build_config(opts: dict[str, Any], store: Any) -> RunConfig:
    if not opts["resume"] and not opts["dataset"]:
        raise BenchError("--dataset: required (unless --resume RUN)", EXIT_USAGE)
    urls = list(opts["base_urls"])
    values = config_values(RunConfig, opts)
    values["base_url"], values["endpoints"] = urls[0], tuple(urls[1:])
    if opts["resume"]:
        try:
            row = store.get_run(opts["resume"])
        except StoreError as exc:
            raise BenchError(str(exc), EXIT_USAGE) from exc
        stored = dict(row.config)
        ctx = click.get_current_context()
        fixed = [
            key
            for key in RunConfig.model_fields
            if key not in _RESUMABLE_OVERRIDES
            and key in ctx.params
            and given_on_command_line(ctx, key)
            and values.get(key) != stored.get(key)
        ]
        if fixed or given_on_command_line(ctx, "sim"):
            names = ", ".join(f"--{k.replace('_', '-')}" for k in fixed or ["sim"])
            raise BenchError(
                f"--resume: {names} cannot change on a resumed run (it keeps what it "
                f"measures); resumable: {_resumable_names()}. Start a new run instead.",
                EXIT_USAGE,
            )
        for key in _RESUMABLE_OVERRIDES:
            param = "base_urls" if key in ("base_url", "endpoints") else key
            if given_on_command_line(ctx, param):
                stored[key] = values[key]
        values = stored
    elif opts["sim"]:
        values["backend"] = "simulated"
        values["sim"] = _sim_settings(opts)
    return build_run_config(values)


class _LazyStore:
    """The run store, opened when first needed: a new run opens it only after its input
    is valid and the preflight passed, so a run refused by its server leaves nothing on
    disk; a resume needs it at once, and it must then already exist."""

    def __init__(self, path: str | None, *, resume: bool) -> None:
        self._path = path
        self._store: Any = open_store(path, must_exist=True) if resume else None

    def get(self) -> Any:
        if self._store is None:
            self._store = open_store(self._path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def run_command(opts: dict[str, Any]) -> int:
    console = stderr_console()
    stores = _LazyStore(opts["store"], resume=bool(opts["resume"]))
    try:
        try:
            config = _build_config(opts, stores.get() if opts["resume"] else None)
            prepared = prepare(config)
            if opts["resume"]:
                check_resumable(stores.get().get_run(opts["resume"]), prepared)
        except InputError as exc:
            raise BenchError(str(exc), EXIT_USAGE) from exc
        api_key = os.environ.get(opts["api_key_env"]) if opts["api_key_env"] else None
        with _metrics(opts, console) as metrics_observer:
            try:
                result = _run_loop(
                    _run_async(prepared, stores, api_key, opts, console, metrics_observer)
                )
            except InputError as exc:  # the preflight: wrong model, key or URL
                raise BenchError(str(exc), EXIT_USAGE) from exc
            except PolicybenchError as exc:  # unreachable server, store problems
                raise BenchError(str(exc), EXIT_FAILURE) from exc
            if result is None:
                return EXIT_INTERRUPTED
            _report(result, opts, console)
            if result.status == "failed":
                click.echo(
                    f"error: {result.summary.to_json().get('failure') or 'the run failed'}",
                    err=True,
                )
            return {"success": EXIT_OK, "cancelled": EXIT_INTERRUPTED}.get(
                result.status, EXIT_FAILURE
            )
    finally:
        stores.close()


@contextlib.contextmanager
def _metrics(opts: dict[str, Any], console: Any) -> Iterator[Any]:
    """With ``--metrics-port``: serve /metrics (in a thread) for the run and, after it, for
    ``--metrics-linger`` seconds (Ctrl-C or SIGTERM ends the linger); yields the observer."""
    port = opts.get("metrics_port")
    if port is None:
        yield None
        return
    from policybench.service.metrics import RunMetrics
    from policybench.service.metrics_server import MetricsServer
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    observer = RunMetrics(registry).observer()
    server = MetricsServer(registry, opts["metrics_host"], port)
    try:
        server.start()
    except OSError as exc:
        raise BenchError(
            f"--metrics-port: cannot serve on {opts['metrics_host']}:{port}: {exc.strerror or exc}",
            EXIT_USAGE,
        ) from exc
    console.print(f"metrics: {server.url}")
    try:
        yield observer
    finally:
        linger = opts.get("metrics_linger") or 0.0
        if linger > 0 and observer.run_id is not None:
            console.print(
                f"serving the final metrics on {server.url} for {linger:g}s (Ctrl-C to stop)"
            )
            with interrupt_on_signal(server.interrupt):
                server.linger(linger)
        server.stop()


def _report(result: RunResult, opts: dict[str, Any], console: Any) -> None:
    from rich.console import Console

    from .render import render_summary

    if opts["as_json"]:
        render_summary(result.summary, console)
        sys.stdout.write(orjson.dumps(result.summary.to_json()).decode() + "\n")
        sys.stdout.flush()
    else:
        render_summary(result.summary, Console())
    if result.status == "cancelled":
        console.print(
            f"[yellow]interrupted:[/yellow] resume with `bench run --resume {result.run_id}`"
        )


def _run_loop(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional on some platforms
        return asyncio.run(coro)
    return uvloop.run(coro)


async def _run_async(
    prepared: Prepared,
    stores: _LazyStore,
    api_key: str | None,
    opts: dict[str, Any],
    console: Any,
    metrics_observer: Any = None,
) -> RunResult | None:
    from policybench.service.observer import Observers

    from .progress import ProgressObserver

    observers = [] if opts["no_progress"] else [ProgressObserver(console)]
    if metrics_observer is not None:
        observers.append(metrics_observer)
    async with server_for(prepared) as ready:
        checked = await check_servers(ready, api_key)
        for note in checked.notes:
            console.print(f"note: {note}", soft_wrap=True, highlight=False)
        run = Run(
            ready,
            stores.get(),
            api_key=api_key,
            observer=Observers(observers),
            resume=opts["resume"],
            checked=checked,
        )
        message = (
            f"no new requests; waiting up to {ready.config.grace_period:g}s for those in flight"
        )
        with graceful_interrupts(
            lambda: run.request_stop("interrupted"), message, console
        ) as presses:
            try:
                return await run.execute()
            except asyncio.CancelledError:
                if presses.count:
                    summary = run.summary(0.0, "cancelled")
                    _report(RunResult(run.run_id, "cancelled", summary), opts, console)
                    return None
                raise


@click.command("run")
@config_options(RunConfig)
@option(
    "--base-url",
    "base_urls",
    multiple=True,
    default=("http://localhost:8000/v1",),
    show_default=True,
    help="OpenAI-compatible base URL (vLLM, Ollama http://localhost:11434/v1, ...). Repeat for several servers: each request goes to the least loaded.",
)
@option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the server's API key (never stored).",
)
@option(
    "--resume",
    "resume",
    default=None,
    metavar="RUN",
    help="Continue an interrupted run: only samples without a record are sent.",
)
@option(
    "--sim", is_flag=True, help="Start the built-in simulated server in-process and run against it."
)
@option(
    "--sim-error-rate",
    type=float,
    default=0.1,
    show_default=True,
    help="Simulated server: share of wrong answers (seeded).",
)
@option(
    "--sim-seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Simulated server: seed of its errors.",
)
@option(
    "--sim-time-scale",
    type=click.FloatRange(0, 1000),
    default=0.5,
    show_default=True,
    help="Simulated server: multiply every model latency (1 = the profile's real speed, "
    "0 = as fast as possible).",
)
@option(
    "--sim-max-num-seqs",
    type=click.IntRange(1, 65536),
    default=None,
    help="Simulated server: requests served at once (default: the profile's).",
)
@option(
    "--sim-profile",
    default="gpt-oss-safeguard-20b-h100",
    show_default=True,
    help="Simulated server: performance profile (name or .toml file; `bench sim --list-profiles`).",
)
@option(
    "--sim-independent-models",
    is_flag=True,
    help="Simulated server: each model name errs on its own draws (so ensembles have something to vote on).",
)
@option(
    "--sim-logprob-separation",
    type=float,
    default=2.0,
    show_default=True,
    help="Simulated server: how much surer its right answers are than its wrong ones (logits), in logprobs.",
)
@option(
    "--sim-style",
    default="auto",
    show_default=True,
    help="Simulated server: answer style (auto = by model name, then the prompt's format).",
)
@option(
    "--sim-fault",
    "sim_faults",
    multiple=True,
    metavar="KIND=RATE",
    help="Simulated server: inject a fault (500|503|429|400|slow|hang|drop|malformed|empty), repeatable.",
)
@option("--no-progress", is_flag=True, help="No progress bar.")
@option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus /metrics on this port during the run (0 = any free port).",
)
@option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address /metrics binds to (loopback by default; 0.0.0.0 in a container).",
)
@option(
    "--metrics-linger",
    type=click.FloatRange(min=0),
    default=15.0,
    show_default=True,
    help="Seconds /metrics keeps serving after the run, so the last scrape sees final values.",
)
@store_option
@json_option
def run_cmd(**opts: Any) -> None:
    """Run a benchmark: classify every sample of a dataset and score it.

    \f
    Every option of RunConfig (service/config.py) is generated from its field; the
    options declared here are the ones that are not part of a run's config.
    """
    sys.exit(run_command(opts))
