"""The Grafana dashboard and the metrics server, without Prometheus: every metric a panel
queries is documented in docs/metrics.md and present in a real run's /metrics (served by
our aiohttp server), every policybench query is filtered by the run selector, and the
vLLM panels use names the simulated server actually exposes."""

from __future__ import annotations

import json
import re
import socket

import aiohttp
import pytest
from policybench.service.config import build_run_config
from policybench.service.metrics import RunMetrics
from policybench.service.metrics_server import (
    MetricsServer,
    _fallback_handler,
    metrics_app,
    serve_metrics,
)
from policybench.service.observer import Observers
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from prometheus_client import CollectorRegistry

from .conftest import BALANCED, REPO, SimFactory

DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "policybench.json"
DOCS = REPO / "docs" / "metrics.md"
_NAME = re.compile(r"\b(policybench_[a-z0-9_]+|vllm:[a-z0-9_:]+)")
_SUFFIXES = ("_bucket", "_count", "_sum")


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", ())]


def family(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def queried_metrics() -> set[str]:
    return {m for e in exprs() for m in _NAME.findall(e)}


def test_dashboard_structure_and_run_selector() -> None:
    dash = dashboard()
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert "label_values(policybench_run_info, run_id)" in json.dumps(variables["run"]["query"])
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in panels}
    for needed in (
        "Samples/hour (live)",
        "Progress",
        "ETA",
        "Requests in flight vs limit",
        "Request latency",
        "Time to first token",
        "Accuracy",
        "Errors and retries by kind",
        "Parse failures",
        "Tokens/s",
        "Running / waiting requests",
        "KV-cache usage",
        "Generation tokens/s",
        "Prefix-cache hit rate",
    ):
        assert needed in titles, needed
    for p in panels:
        assert p["targets"], p["title"]
    # every policybench selector is filtered by the run selector
    for e in exprs():
        for selector in re.findall(r"policybench_[a-z0-9_]+(\{[^}]*\}|)", e):
            assert 'run_id=~"$run"' in selector, e


def test_every_dashboard_metric_is_documented() -> None:
    docs = DOCS.read_text()
    missing = sorted(family(m) for m in queried_metrics() if f"`{family(m)}`" not in docs)
    assert not missing, missing


async def test_every_dashboard_metric_is_served_on_metrics(sim: SimFactory, store: Store) -> None:
    registry = CollectorRegistry()
    observer = RunMetrics(registry).observer()
    async with sim(error_rate=0.2) as (url, _app):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "backend": "simulated", "limit": 20}
        )
        await Run(prepare(config), store, observer=Observers([observer])).execute()
        async with (
            serve_metrics(registry) as (host, port),
            aiohttp.ClientSession() as session,
        ):
            async with session.get(f"http://{host}:{port}/metrics") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/plain")
                ours = await resp.text()
            async with session.get(url.removesuffix("/v1") + "/metrics") as resp:
                sim_text = await resp.text() if resp.status == 200 else ""
    exposed = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", ours, re.M))
    for name in sorted(m for m in queried_metrics() if m.startswith("policybench_")):
        assert name in exposed, name
    vllm = sorted(m for m in queried_metrics() if m.startswith("vllm:"))
    assert vllm
    if "vllm:" not in sim_text:
        pytest.skip("the simulated server has no vLLM /metrics yet: vLLM names not checked")
    sim_names = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", sim_text, re.M))
    for name in vllm:
        assert name in sim_names, name


async def test_fallback_handler_serves_the_same_text() -> None:
    from aiohttp import web

    registry = CollectorRegistry()
    RunMetrics(registry)
    app = web.Application()
    app.router.add_get("/metrics", _fallback_handler(registry))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            assert resp.status == 200
            text = await resp.text()
    finally:
        await runner.cleanup()
    assert "# TYPE policybench_samples_completed_total counter" in text
    routes = [r.resource.canonical for r in metrics_app(registry).router.routes() if r.resource]
    assert "/metrics" in routes  # the normal app serves the same path


async def test_metrics_server_thread_serves_lingers_and_refuses_a_busy_port() -> None:
    registry = CollectorRegistry()
    RunMetrics(registry)
    server = MetricsServer(registry, "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession() as session, session.get(server.url) as resp:
            assert resp.status == 200
            assert "policybench_run_info" in await resp.text()
        server.interrupt()
        server.linger(60)  # returns at once: interrupted
        assert server.address is not None
        busy = server.address[1]
        with pytest.raises(OSError):
            MetricsServer(registry, "127.0.0.1", busy).start()
    finally:
        server.stop()
    with socket.socket() as s:  # the port is free again after stop()
        s.bind(("127.0.0.1", busy))
