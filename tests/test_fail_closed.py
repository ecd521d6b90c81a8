"""Runs that fail say so: preflight, early stop, the error budget, nothing scored.

Every server here is a real one on a loopback port: the simulator, or a small aiohttp app
scripted to answer as the servers users meet do (vLLM's 404 for an unknown model, a proxy
asking for a key, an HTML page, a server that hangs).  The CLI is run as users run it, and
its exit code, its one-line message and the stored status are checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from policybench.service.batching import route_missing
from policybench.service.config import build_run_config
from policybench.service.errors import HTTPStatusError, PreflightError, ServerUnreachable
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, RUN_MODEL, SimFactory

BENCH = [sys.executable, "-m", "policybench.bench.cli"]
VLLM_404 = {
    "error": {
        "message": "The model `nope` does not exist.",
        "type": "NotFoundError",
        "param": "model",
        "code": 404,
    }
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def upstream(routes: dict[tuple[str, str], Handler]) -> AsyncIterator[tuple[str, dict]]:
    """A scripted server; yields its base URL and a count of requests per path."""
    hits: dict[str, int] = {}

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        hits[request.path] = hits.get(request.path, 0) + 1
        return await handler(request)

    app = web.Application(middlewares=[count])
    for (method, path), handler in routes.items():
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1", hits
    finally:
        await runner.cleanup()


def models_route(*names: str) -> Handler:
    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": n} for n in names]})

    return models


def answer(content: str, usage: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "choices": [{"index": 0, "message": {"content": content}, "finish_reason": "stop"}]
    }
    if usage:
        body["usage"] = {"prompt_tokens": 10, "completion_tokens": 3}
    return body


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def bench(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The CLI in a subprocess, awaited so that this loop's servers keep answering."""
    proc = await asyncio.create_subprocess_exec(
        *BENCH,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def run_args(store: Path, url: str, *more: str) -> list[str]:
    return [
        "run",
        "--dataset",
        "balanced",
        "--base-url",
        url,
        "--no-progress",
        "--json",
        "--store",
        str(store),
        *more,
    ]


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


# -- preflight: nothing is recorded --------------------------------------------------------
async def test_wrong_model_exits_2_naming_what_the_server_serves(
    sim: SimFactory, tmp_path: Path
) -> None:
    store = tmp_path / "runs.sqlite"
    async with sim(model="tiny") as (url, _app):
        code, out, err = await bench(*run_args(store, url, "--model", "nope"))
    assert code == 2
    assert error_line(err) == f"error: model 'nope' is not served by {url}; it serves: tiny"
    assert out == "" and not store.exists()  # nothing recorded, nothing on disk


async def test_ensemble_member_on_a_model_not_served_fails_the_preflight(
    sim: SimFactory, store: Store
) -> None:
    async with sim(model="good", also_serves=("good2",)) as (url, _app):
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": url,
                "model": "good",
                "strategy": "ensemble",
                "ensemble_members": ("multi", "multi@good2", "multi@typo"),
            }
        )
        with pytest.raises(PreflightError, match=r"model 'typo' is not served by .*good, good2"):
            await Run(prepare(config), store).execute()
    assert store.list_runs() == []


async def test_unreachable_server_exits_1_with_one_line(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite"
    url = dead_url()
    code, out, err = await bench(*run_args(store, url))
    assert code == 1
    assert error_line(err) == f"error: no server at {url}: connection refused"
    assert out == "" and not store.exists()


async def test_every_server_is_checked_and_all_down_is_unreachable(store: Store) -> None:
    first, second = dead_url(), dead_url()
    config = build_run_config({"dataset": str(BALANCED), "base_url": first, "endpoints": [second]})
    with pytest.raises(ServerUnreachable, match="connection refused"):
        await Run(prepare(config), store).execute()
    assert store.list_runs() == []


async def test_wrong_model_on_a_second_server_fails_the_preflight(
    sim: SimFactory, store: Store
) -> None:
    async with sim() as (good, _a), sim(model="other") as (bad, _b):
        config = build_run_config({"dataset": str(BALANCED), "base_url": good, "endpoints": [bad]})
        with pytest.raises(PreflightError, match=f"is not served by {bad}; it serves: other"):
            await Run(prepare(config), store).execute()


async def test_wrong_key_exits_2_quoting_the_server(tmp_path: Path) -> None:
    async def refuse(request: web.Request) -> web.Response:
        body = {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}
        return web.json_response(body, status=401)

    store = tmp_path / "runs.sqlite"
    routes = {("GET", "/v1/models"): refuse, ("POST", "/v1/chat/completions"): refuse}
    async with upstream(routes) as (url, hits):
        code, _out, err = await bench(
            *run_args(store, url), env={"OPENAI_API_KEY": "sk-wrong-key-0000"}
        )
    assert code == 2
    assert error_line(err) == (
        f"error: {url} refused the API key (HTTP 401: Incorrect API key provided)"
    )
    assert "sk-wrong-key-0000" not in err
    assert hits.get("/v1/chat/completions") is None and not store.exists()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://127.0.0.1/v1", "the scheme must be http:// or https://"),
        ("http://", "has no usable host"),
        ("http://127.0.0.1:99999/v1", "is not a URL"),
    ],
)
async def test_bad_url_is_a_usage_error_naming_it(tmp_path: Path, url: str, problem: str) -> None:
    code, _out, err = await bench(*run_args(tmp_path / "s.sqlite", url))
    assert code == 2
    line = error_line(err)
    assert line.startswith(f"error: base-url: '{url}'") and problem in line


async def test_an_html_page_is_not_an_api(tmp_path: Path) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body><h1>Welcome</h1></body></html>", content_type="text/html"
        )

    async with upstream({("GET", "/v1/models"): page, ("POST", "/v1/chat/completions"): page}) as (
        url,
        _hits,
    ):
        code, _out, err = await bench(*run_args(tmp_path / "s.sqlite", url))
    assert code == 2
    assert error_line(err) == (
        f"error: {url} is not an OpenAI-compatible API: GET /models answered text/html "
        "('Welcome'), not JSON"
    )


# -- during and after the run: status failed, exit 1 --------------------------------------
async def test_unfixable_errors_stop_the_run_early_quoting_the_server(tmp_path: Path) -> None:
    """A server that does not list its models (the run goes ahead, with a note) and answers
    every completion with vLLM's 404 for an unknown model: the run stops after five."""

    async def not_found(request: web.Request) -> web.Response:
        return web.json_response(VLLM_404, status=404)

    store = tmp_path / "runs.sqlite"
    async with upstream({("POST", "/v1/chat/completions"): not_found}) as (url, hits):
        code, out, err = await bench(*run_args(store, url, "--concurrency", "2"))
    assert code == 1
    assert f"note: {url} does not list its models (GET /models: HTTP 404)" in err
    assert error_line(err) == (
        "error: stopped early: the first 5 requests all failed: HTTP 404 from "
        f"{url}/chat/completions: The model `nope` does not exist."
    )
    summary = orjson.loads(out)
    assert summary["status"] == "failed" and summary["completed"] <= 5 + 2
    assert hits["/v1/chat/completions"] <= 5 + 2  # not 90
    with Store(store) as s:
        row = s.get_run(summary["run_id"])
        assert row.status == "failed" and "stopped early" in (row.error or "")


async def test_every_answer_a_parse_failure_exits_1(tmp_path: Path) -> None:
    async def chat(request: web.Request) -> web.Response:
        return web.json_response(answer("I am a helpful assistant.", usage=False))

    store = tmp_path / "runs.sqlite"
    routes = {("GET", "/v1/models"): models_route("tiny"), ("POST", "/v1/chat/completions"): chat}
    async with upstream(routes) as (url, _hits):
        code, out, err = await bench(*run_args(store, url, "--model", "tiny", "--limit", "12"))
    assert code == 1
    line = error_line(err)
    assert line.startswith("error: every answer was a parse failure (12 of 12); first: ")
    assert "'I am a helpful assistant.'" in line
    summary = orjson.loads(out)
    assert summary["status"] == "failed" and summary["samples_per_hour"] == 0
    assert summary["tokens"] == {"prompt": None, "completion": None}  # no usage: n/a
    assert summary["route"] == "chat"
    assert "n/a / n/a" in err  # the table says n/a, not 0 / 0


async def test_error_budget_is_on_by_default_and_names_the_most_common_error(
    sim: SimFactory, tmp_path: Path
) -> None:
    from policybench.bench.sim import FaultConfig

    store = tmp_path / "runs.sqlite"
    async with sim(faults=FaultConfig(rates=(("400", 0.4),)), seed=5) as (url, _app):
        code, out, err = await bench(*run_args(store, url, "--concurrency", "4"))
    assert code == 1
    line = error_line(err)
    assert "samples failed" in line and "beyond the error budget of 5% (--max-error-rate)" in line
    assert f"most common: HTTP 400 from {url}/chat/completions: " in line
    summary = orjson.loads(out)
    assert summary["status"] == "failed" and summary["failure"] == line.removeprefix("error: ")
    assert summary["errors"] > 0


async def test_a_small_run_beyond_the_budget_fails_at_the_end(
    sim: SimFactory, store: Store
) -> None:
    from policybench.bench.sim import FaultConfig

    # 400s are not retried: with a 20% rate some of ten samples fail, which is > 5%
    async with sim(faults=FaultConfig(rates=(("400", 0.2),)), seed=1) as (url, _app):
        config = build_run_config({"dataset": str(BALANCED), "base_url": url, "limit": 10})
        result = await Run(prepare(config), store).execute()
    s = result.summary.to_json()
    assert 0 < s["errors"] < 10
    assert result.status == "failed" and store.get_run(result.run_id).status == "failed"
    assert s["failure"].startswith(f"{s['errors']} of 10 samples failed")
    assert s["samples_per_hour"] < s["completed_per_hour"]  # failures are not throughput


async def test_a_budget_of_one_lets_errors_through(sim: SimFactory, store: Store) -> None:
    from policybench.bench.sim import FaultConfig

    async with sim(faults=FaultConfig(rates=(("400", 0.2),)), seed=1) as (url, _app):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "limit": 10, "max_error_rate": 1.0}
        )
        result = await Run(prepare(config), store).execute()
    assert result.status == "success" and result.summary.to_json()["errors"] > 0


# -- batching: a model's 404 is not a missing route ------------------------------------------
def test_route_missing_tells_a_model_404_from_a_route_404() -> None:
    assert not route_missing(HTTPStatusError(404, orjson.dumps(VLLM_404).decode()))
    assert route_missing(HTTPStatusError(404, '{"detail": "Not Found"}'))  # vLLM, FastAPI
    assert route_missing(HTTPStatusError(404, "404: Not Found"))  # aiohttp
    assert route_missing(HTTPStatusError(405, "Method Not Allowed"))
    openai = {"error": {"message": "Invalid URL (POST /v1/chat/completions/batch)"}}
    assert route_missing(HTTPStatusError(404, orjson.dumps(openai).decode()))
    assert not route_missing(HTTPStatusError(400, '{"detail": "Not Found"}'))


async def test_a_mistyped_ensemble_member_leaves_the_healthy_one_on_its_route(
    store: Store,
) -> None:
    async def batch(request: web.Request) -> web.Response:
        body = await request.json()
        if body["model"] != "good":
            return web.json_response(VLLM_404, status=404)
        n = len(body["messages"])
        choices = [
            {"index": i, "message": {"content": '{"violations": []}'}, "finish_reason": "stop"}
            for i in range(n)
        ]
        return web.json_response({"choices": choices, "usage": {"prompt_tokens": 7 * n}})

    routes = {("POST", "/v1/chat/completions/batch"): batch}  # no /models: not checked
    async with upstream(routes) as (url, hits):
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": url,
                "model": "good",
                "strategy": "ensemble",
                "ensemble_members": ("multi", "multi@nope"),
                "batch_size": 4,
                "concurrency": 8,
            }
        )
        result = await Run(prepare(config), store).execute()
    s = result.summary.to_json()
    assert "/v1/completions" not in hits  # the model's 404 moved nobody to another route
    assert s["route"] == "chat-batch"
    assert result.status == "failed"
    assert s["failure"].startswith("stopped early: the first 5 requests for model 'nope' all")
    assert "The model `nope` does not exist." in s["failure"]


# -- a hung server shows in request latency ----------------------------------------------
async def test_timed_out_attempts_show_in_request_latency(sim: SimFactory, store: Store) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response(answer('{"violations": []}'))

    routes = {
        ("GET", "/v1/models"): models_route(RUN_MODEL),
        ("POST", "/v1/chat/completions"): hang,
    }
    async with sim() as (good, _app), upstream(routes) as (hung, _hits):
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": good,
                "endpoints": [hung],
                "limit": 30,
                "concurrency": 8,
                "timeout": 1.0,  # the live server answers in milliseconds
                "max_attempts": 8,
            }
        )
        try:
            result = await Run(prepare(config), store).execute()
        finally:
            release.set()
    s = result.summary.to_json()
    assert result.status == "success" and s["errors"] == 0  # retried on the live server
    assert s["request_timeouts"] >= 1
    # the hang shows, not only in samples (percentiles come from a log histogram: within 5%)
    assert s["request_latency_seconds"]["p99"] >= 0.95


def test_the_cli_default_error_budget_is_the_configs() -> None:
    import click
    from policybench.bench.cli import cli
    from policybench.service.config import DEFAULT_ERROR_BUDGET

    run = cli.get_command(click.Context(cli), "run")
    assert run is not None
    option = next(p for p in run.params if p.name == "max_error_rate")
    assert option.default == DEFAULT_ERROR_BUDGET == 0.05
