"""``bench submit | status | watch | cancel``: talk to a running ``bench serve`` over HTTP.

The token comes from the environment variable named by ``--token-env``.  Exit codes: 0
ok, 1 the service failed or is unreachable (or a watched run did not succeed), 2 the
service refused the request as bad input (400/404/409/413, the message names the field),
130 interrupted while watching.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import aiohttp
import click
import orjson

from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BenchError
from .options import json_option, option

_SUBMIT_KEYS = ("dataset", "policies", "strategy", "model", "base_url", "concurrency", "limit")


class _Client:
    def __init__(self, url: str, token_env: str | None) -> None:
        self.url = url.rstrip("/")
        token = os.environ.get(token_env) if token_env else None
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
                session.request(method, self.url + path, data=data, headers=headers) as resp,
            ):
                raw = await resp.read()
                status = resp.status
        except aiohttp.ClientError as exc:
            raise BenchError(f"{self.url}: {exc}", EXIT_FAILURE) from exc
        payload = orjson.loads(raw) if raw else None
        if status >= 400:
            message = payload.get("error") if isinstance(payload, dict) else raw.decode()
            code = EXIT_FAILURE if status >= 500 or status == 401 else EXIT_USAGE
            raise BenchError(f"HTTP {status}: {message}", code)
        return payload

    async def watch(self, run_id: str, on_event: Any) -> dict[str, Any]:
        """Follow ``/events`` until the ``end`` event; returns its data."""
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        path = f"{self.url}/v1/runs/{run_id}/events"
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(path, headers=self.headers) as resp,
            ):
                if resp.status >= 400:
                    body = await resp.read()
                    raise BenchError(f"HTTP {resp.status}: {body.decode()}", EXIT_USAGE)
                event = "message"
                async for line in resp.content:
                    text = line.decode().rstrip("\r\n")
                    if text.startswith("event:"):
                        event = text[6:].strip()
                    elif text.startswith("data:"):
                        data = orjson.loads(text[5:].strip())
                        on_event(event, data)
                        if event == "end":
                            return dict(data)
        except aiohttp.ClientError as exc:
            raise BenchError(f"{self.url}: {exc}", EXIT_FAILURE) from exc
        raise BenchError("the service closed the event stream before the run ended", EXIT_FAILURE)


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")


def _parse_sets(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BenchError(f"--set: {pair!r} is not KEY=VALUE", EXIT_USAGE)
        try:
            out[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            out[key] = value
    return out


def submit_command(opts: dict[str, Any]) -> int:
    body = {k: opts[k] for k in _SUBMIT_KEYS if opts.get(k) is not None}
    if opts["sim"]:
        body["sim"] = True
    body.update(_parse_sets(opts["sets"]))
    client = _Client(opts["url"], opts["token_env"])
    job = asyncio.run(client.call("POST", "/v1/runs", body))
    if opts["as_json"] and not opts["watch"]:
        _print_json(job)
    else:
        click.echo(f"submitted {job['run_id']} ({job['status']})", err=True)
        if not opts["watch"]:
            click.echo(job["run_id"])
    if opts["watch"]:
        return _watch(client, job["run_id"], opts["as_json"])
    return EXIT_OK


def status_command(opts: dict[str, Any]) -> int:
    client = _Client(opts["url"], opts["token_env"])
    path = f"/v1/runs/{opts['run_id']}" if opts["run_id"] else "/v1/runs"
    data = asyncio.run(client.call("GET", path))
    if opts["as_json"]:
        _print_json(data)
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in ("run", "status", "queue", "model", "strategy", "done", "error"):
        table.add_column(col)
    for job in data.get("runs", [data]):
        p = job["progress"]
        total = p.get("total")
        table.add_row(
            job["run_id"],
            job["status"]
            + (" (cancelling)" if job["cancel_requested"] and job["status"] == "running" else ""),
            "" if job["position"] is None else str(job["position"]),
            job["config"]["model"],
            job["config"]["strategy"],
            f"{p['completed']}/{total if total is not None else '?'}",
            job["error"] or "",
        )
    Console().print(table)
    return EXIT_OK


def cancel_command(opts: dict[str, Any]) -> int:
    client = _Client(opts["url"], opts["token_env"])
    job = asyncio.run(client.call("POST", f"/v1/runs/{opts['run_id']}/cancel"))
    if opts["as_json"]:
        _print_json(job)
    else:
        click.echo(
            f"{job['run_id']}: {job['status']}"
            + (" (stopping)" if job["status"] == "running" else "")
        )
    return EXIT_OK


def watch_command(opts: dict[str, Any]) -> int:
    return _watch(_Client(opts["url"], opts["token_env"]), opts["run_id"], opts["as_json"])


def _watch(client: _Client, run_id: str, as_json: bool) -> int:
    from rich.console import Console

    console = Console(stderr=True)

    def show(event: str, data: dict[str, Any]) -> None:
        done, total = data.get("completed", 0), data.get("total")
        acc = data.get("multi_policy_accuracy")
        rate = data.get("samples_per_hour")
        parts = [f"{run_id} {data.get('status')}", f"{done}/{total if total is not None else '?'}"]
        if rate:
            parts.append(f"{rate:,.0f} samples/h")
        if acc is not None:
            parts.append(f"multi acc {acc:.1%}")
        console.print("  ".join(parts), highlight=False)

    try:
        end = asyncio.run(client.watch(run_id, show))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    summary = end.get("summary")
    if as_json:
        _print_json(summary if summary is not None else end)
    elif summary:
        from policybench.service.summary import RunSummary

        from .render import render_summary

        render_summary(RunSummary.load(summary), Console())
    return EXIT_OK if end.get("status") == "done" else EXIT_FAILURE


def _client_options(f: Any) -> Any:
    f = option(
        "--url", default="http://127.0.0.1:8080", show_default=True, help="The service's URL."
    )(f)
    f = option(
        "--token-env",
        default="POLICYBENCH_SERVICE_TOKEN",
        show_default=True,
        help="Environment variable holding the service's bearer token.",
    )(f)
    return json_option(f)


@click.command("submit")
@option(
    "--dataset",
    required=True,
    help="Dataset: a shipped name, or a path under the service's dataset root.",
)
@option(
    "--policies",
    default=None,
    help="minimal|medium|verbose, or a folder under the service's policy root.",
)
@option(
    "--strategy", type=click.Choice(["multi", "gauntlet"]), default=None, help="Request strategy."
)
@option("--model", default=None, help="Model name sent to the server.")
@option("--base-url", default=None, help="OpenAI-compatible base URL, as seen from the service.")
@option("--concurrency", type=int, default=None, help="Requests in flight for this run.")
@option("--limit", type=int, default=None, help="Only the first N samples.")
@option("--sim", is_flag=True, help="Run against a simulated server started by the service.")
@option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other `bench run` option (JSON value), e.g. --set max_tokens=512.",
)
@option("--watch", is_flag=True, help="Follow the run's progress until it ends.")
@_client_options
def submit_cmd(**opts: Any) -> None:
    """Submit a run to a running `bench serve`; prints its run id."""

    sys.exit(submit_command(opts))


@click.command("status")
@click.argument("run_id", required=False)
@_client_options
def status_cmd(**opts: Any) -> None:
    """Show one run, or every run, of a running `bench serve`."""

    sys.exit(status_command(opts))


@click.command("watch")
@click.argument("run_id")
@_client_options
def watch_cmd(**opts: Any) -> None:
    """Follow a service run's live progress (server-sent events) until it ends."""

    sys.exit(watch_command(opts))


@click.command("cancel")
@click.argument("run_id")
@_client_options
def cancel_cmd(**opts: Any) -> None:
    """Cancel a queued or running service run."""

    sys.exit(cancel_command(opts))
