"""The server's own figures per run, read from its /metrics (the simulator's vLLM names)."""

from __future__ import annotations

from pathlib import Path

import orjson
from aiohttp import web
from policybench.bench.report.data import ReportData
from policybench.bench.report.markdown import render_markdown
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.runsummary import summarise
from policybench.service.server_metrics import metrics_url, parse_snapshot
from policybench.service.store import Store
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from .conftest import BALANCED, SimFactory
from .test_fail_closed import answer, upstream


def test_metrics_url_is_the_servers_root() -> None:
    assert metrics_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/metrics"
    assert metrics_url("http://h/v1/") == "http://h/metrics"
    assert metrics_url("http://h:9/proxy") == "http://h:9/proxy/metrics"


def test_snapshot_sums_the_runs_models_only() -> None:
    registry = CollectorRegistry()
    hits = Counter("vllm:prefix_cache_hits", "hits", ["model_name"], registry=registry)
    kv = Gauge("vllm:kv_cache_usage_perc", "kv", ["model_name"], registry=registry)
    other = Counter("unrelated", "not vllm", registry=registry)
    hits.labels("ours").inc(30)
    hits.labels("theirs").inc(1000)
    kv.labels("ours").set(0.25)
    other.inc()
    text = generate_latest(registry).decode()
    snap = parse_snapshot(text, ["ours"])
    assert snap is not None
    assert snap.counters == {"prefix_cache_hits": 30.0}
    assert snap.gauges == {"kv_cache_usage": 0.25}
    everything = parse_snapshot(text)
    assert everything is not None and everything.counters["prefix_cache_hits"] == 1030.0
    assert parse_snapshot(generate_latest(CollectorRegistry()).decode()) is None


async def test_a_run_shows_the_servers_own_figures_beside_its_own(
    sim: SimFactory, tmp_path: Path
) -> None:
    with Store(tmp_path / "runs.sqlite") as store:
        async with sim() as (url, _app):
            config = build_run_config({"dataset": str(BALANCED), "base_url": url})
            result = await Run(prepare(config), store).execute()
        s = result.summary.to_json()
        server = s["server"]
        assert server is not None and server["metrics_urls"] == [metrics_url(url)]
        # the server counted exactly the client's requests and tokens
        assert server["requests"] == s["requests"] == 90
        assert server["prompt_tokens"] == s["tokens"]["prompt"]
        assert server["generation_tokens"] == s["tokens"]["completion"]
        # one shared policy prompt: most prompt tokens are prefix-cache hits
        assert server["prefix_cache_hit_rate"] > 0.5
        assert server["preemptions"] == 0
        assert 0 <= server["kv_cache_usage_peak"] <= 1  # a sampled gauge: its peak is timing
        assert server["mean_queue_seconds"] is not None and server["mean_queue_seconds"] >= 0
        assert server["scrapes"] >= 2  # at the start and at the end
        # the record keeps them, and the reports show them
        assert store.get_run(result.run_id).summary.to_json()["server"] == server
        stored = summarise(store, result.run_id)
        assert (
            stored.summary.to_json()["server"] == server
            and stored.summary.to_json()["route"] == "chat"
        )
        report = render_markdown(ReportData(title="t", runs=[stored]))
        rate = f"{server['prefix_cache_hit_rate']:.1%}"
        assert f"prefix-cache hit rate {rate}" in report
        assert "requests: server / client 90 / 90" in report


async def test_a_server_without_metrics_has_no_server_figures(store: Store) -> None:
    async def chat(request: web.Request) -> web.Response:
        return web.json_response(answer('{"violations": []}'))

    async with upstream({("POST", "/v1/chat/completions"): chat}) as (url, hits):
        config = build_run_config({"dataset": str(BALANCED), "base_url": url, "limit": 5})
        result = await Run(prepare(config), store).execute()
    assert result.summary.to_json()["server"] is None
    assert hits["/metrics"] == 1  # asked once, at the start; not again
    assert result.status == "success"


async def test_perf_saturation_measures_a_real_server_by_its_own_counters(
    sim: SimFactory,
) -> None:
    from .test_fail_closed import bench

    async with sim(model="tiny") as (url, _app):
        code, out, err = await bench(
            "perf", "saturation", "--base-url", url, "--model", "tiny", "--samples", "40",
            "--concurrency", "4", "--json",
        )  # fmt: skip
    assert code == 0, err
    figures = orjson.loads(out)
    shares = [figures[f"c{c}_share_of_best"] for c in (4, 8, 16, "auto")]
    assert max(shares) == 1.0 and all(0 < s <= 1 for s in shares)
    assert figures["c4_chosen_limit"] == 4 and figures["c16_chosen_limit"] == 16
    assert figures["best_server_requests_per_s"] > 0
