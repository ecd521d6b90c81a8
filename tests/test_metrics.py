"""Prometheus metrics of a run, asserted with ``registry.get_sample_value`` against the
run's own summary: a real run over HTTP against the simulated server, and a scripted
fault server in front of it for retries and statuses."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from policybench.service.config import build_run_config
from policybench.service.datasets import iter_samples
from policybench.service.errors import error_label, parse_error_label
from policybench.service.metrics import RunMetrics, reason_label, status_label
from policybench.service.observer import Observers
from policybench.service.runner import Run, RunResult, prepare
from policybench.service.scoring import OUTCOMES
from policybench.service.store import Store
from prometheus_client import CollectorRegistry

from .conftest import BALANCED, SimFactory


async def metered_run(
    url: str, store: Store, registry: CollectorRegistry, **cfg: Any
) -> tuple[RunResult, Any]:
    config = build_run_config(
        {"dataset": str(BALANCED), "base_url": url, "backend": "simulated", **cfg}
    )
    observer = RunMetrics(registry).observer()
    result = await Run(prepare(config), store, observer=Observers([observer])).execute()
    return result, observer


def value(registry: CollectorRegistry, name: str, run_id: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {"run_id": run_id, **labels})


@pytest.mark.parametrize("strategy", ["multi", "gauntlet"])
async def test_metrics_agree_with_the_run_summary(
    sim: SimFactory, store: Store, strategy: str
) -> None:
    registry = CollectorRegistry()
    async with sim(error_rate=0.25, seed=3) as (url, _app):
        result, _ = await metered_run(url, store, registry, strategy=strategy, concurrency=8)
    s, rid = result.summary, result.run_id
    assert s.completed == 90
    for outcome in OUTCOMES:
        expected = s.outcomes[outcome]
        got = value(registry, "policybench_samples_completed_total", rid, outcome=outcome)
        assert got == expected, outcome
    assert s.outcomes["wrong"] > 0  # the error rate made some mistakes: a real check below
    multi = value(registry, "policybench_accuracy_ratio", rid, kind="multi_policy")
    binary = value(registry, "policybench_accuracy_ratio", rid, kind="binary")
    assert multi == pytest.approx(s.multi_policy_accuracy.value, abs=1e-12)
    assert binary == pytest.approx(s.binary_accuracy.value, abs=1e-12)
    assert multi < 1.0
    assert value(registry, "policybench_samples_planned", rid) == 90
    assert value(registry, "policybench_samples_done", rid) == 90
    assert value(registry, "policybench_dispatch_seconds", rid) == s.dispatch_seconds
    assert value(registry, "policybench_prompt_tokens_total", rid) == s.tokens.prompt
    assert value(registry, "policybench_completion_tokens_total", rid) == s.tokens.completion
    requests_per_sample = 1 if strategy == "multi" else 6
    assert s.requests == 90 * requests_per_sample
    ok = value(
        registry, "policybench_requests_total", rid, endpoint="chat_completions", status="200"
    )
    assert ok == s.requests
    assert value(registry, "policybench_request_duration_seconds_count", rid) == s.requests
    assert value(registry, "policybench_sample_duration_seconds_count", rid) == 90
    assert value(registry, "policybench_sample_duration_seconds_bucket", rid, le="+Inf") == 90
    assert value(registry, "policybench_requests_in_flight", rid) == 0
    assert value(registry, "policybench_concurrency_limit", rid) == 8
    assert value(registry, "policybench_run_active", rid) == 0
    info = registry.get_sample_value(
        "policybench_run_info",
        {
            "run_id": rid,
            "model": s.model,
            "dataset": str(BALANCED),
            "policies": s.policies,
            "strategy": strategy,
            "backend": "simulated",
        },
    )
    assert info == 1


async def test_children_are_pre_initialised_and_cardinality_is_bounded(
    sim: SimFactory, store: Store
) -> None:
    registry = CollectorRegistry()
    async with sim() as (url, _app):
        result, _ = await metered_run(url, store, registry, limit=30)
    rid = result.run_id
    # never incremented, yet present at 0 (so rate() and ratios have a series from the start)
    assert value(registry, "policybench_samples_completed_total", rid, outcome="unscored") == 0
    assert value(registry, "policybench_retries_total", rid, reason="rate_limited") == 0
    assert value(registry, "policybench_request_failures_total", rid, reason="timeout") == 0
    assert (
        value(
            registry, "policybench_requests_total", rid, endpoint="chat_completions", status="503"
        )
        == 0
    )
    ids = {s.id for s in iter_samples(BALANCED)}
    series = [
        sample
        for family in registry.collect()
        for sample in family.samples
        if sample.name.startswith("policybench_")
    ]
    label_values = {v for sample in series for v in sample.labels.values()}
    assert not label_values & ids, "a sample id leaked into a label"
    before = len(series)
    registry2 = CollectorRegistry()
    async with sim() as (url, _app):
        await metered_run(url, store, registry2, limit=90)  # 3x the samples
    after = sum(len(f.samples) for f in registry2.collect() if f.name.startswith("policybench_"))
    assert after == before  # series count does not depend on the number of samples


@asynccontextmanager
async def fault_proxy(
    upstream: str, script: dict[int, tuple[int, dict[str, str]]]
) -> AsyncIterator[str]:
    """A real server that answers request number N (from 1) with ``script[N]`` (status,
    headers) and forwards every other request to ``upstream``."""
    counter = itertools.count(1)

    async def chat(request: web.Request) -> web.Response:
        n = next(counter)
        body = await request.read()
        if n in script:
            status, headers = script[n]
            return web.json_response(
                {"error": {"message": "scripted"}}, status=status, headers=headers
            )
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                upstream + "/chat/completions",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as resp,
        ):
            return web.Response(
                body=await resp.read(), status=resp.status, content_type="application/json"
            )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


async def test_retries_statuses_and_failures_are_counted_by_kind(
    sim: SimFactory, store: Store
) -> None:
    registry = CollectorRegistry()
    now = {"Retry-After": "0"}
    # sample 1: 503, 429, 429, then answered; sample 2: 500, then answered;
    # sample 3: 400, not retryable, so that request fails and the sample is an error
    script = {1: (503, {}), 2: (429, now), 3: (429, now), 5: (500, {}), 7: (400, {})}
    async with sim() as (url, _app), fault_proxy(url, script) as proxy:
        # concurrency 1: request numbers are attempts in order, so the script is exact
        result, _ = await metered_run(
            proxy, store, registry, limit=10, concurrency=1, max_attempts=4
        )
    s, rid = result.summary, result.run_id

    def status(code: str) -> float | None:
        return value(
            registry, "policybench_requests_total", rid, endpoint="chat_completions", status=code
        )

    assert status("503") == 1
    assert status("429") == 2
    assert status("500") == 1
    assert status("400") == 1
    assert status("200") == 9
    assert value(registry, "policybench_retries_total", rid, reason="rate_limited") == 2
    assert value(registry, "policybench_retries_total", rid, reason="server_error") == 2
    assert value(registry, "policybench_retries_total", rid, reason="client_error") == 0
    assert value(registry, "policybench_request_failures_total", rid, reason="client_error") == 1
    assert s.errors == 1
    assert value(registry, "policybench_samples_completed_total", rid, outcome="error") == 1


async def test_accuracy_is_nan_until_a_sample_is_scored() -> None:
    import math

    from policybench.service.limiter import Limiter
    from policybench.service.runner import RunHandle

    config = build_run_config({"dataset": str(BALANCED), "base_url": "http://127.0.0.1:9/v1"})
    prepared = prepare(config)
    registry = CollectorRegistry()
    observer = RunMetrics(registry).observer()
    handle = RunHandle(
        run_id="r1",
        config=config,
        dataset=prepared.dataset,
        policies=prepared.policies,
        total=90,
        already_done=40,
        resumed=True,
        limiter=Limiter(5),
    )
    observer.on_start(handle)
    assert math.isnan(value(registry, "policybench_accuracy_ratio", "r1", kind="binary") or 0.0)
    assert value(registry, "policybench_samples_done", "r1") == 40  # resumed: counts prior work
    assert value(registry, "policybench_concurrency_limit", "r1") == 5
    handle.limiter.set_limit(7)
    assert value(registry, "policybench_concurrency_limit", "r1") == 7  # read at scrape time
    assert value(registry, "policybench_run_active", "r1") == 1
    observer.forget()
    assert value(registry, "policybench_run_active", "r1") is None
    assert value(registry, "policybench_samples_completed_total", "r1", outcome="correct") is None


@pytest.mark.parametrize(
    ("label", "status", "reason"),
    [
        (None, "200", "client_error"),
        ("rate_limited", "429", "rate_limited"),
        ("http_503", "503", "server_error"),
        ("http_408", "408", "server_error"),
        ("http_599", "5xx", "server_error"),
        ("http_418", "4xx", "client_error"),
        ("timeout", "timeout", "timeout"),
        ("connection", "connection", "connection"),
        ("bad_response", "bad_response", "bad_response"),
        ("weird", "other", "client_error"),
    ],
)
def test_error_kinds_fold_into_bounded_labels(label: str | None, status: str, reason: str) -> None:
    # the stored label read back gives the kind and the status code as data
    kind, code = parse_error_label(label) if label else (None, None)
    assert status_label(kind, code) == status
    if kind is not None:
        assert reason_label(kind, code) == reason
        assert label == "weird" or error_label(kind, code) == label


def test_metric_names_follow_prometheus_conventions() -> None:
    registry = CollectorRegistry()
    RunMetrics(registry)
    names = {f.name: f.type for f in registry.collect()}
    assert names, "families are registered at construction"
    for name, kind in names.items():
        assert name.startswith("policybench_"), name
        if kind == "counter":
            assert not name.endswith("_total")  # the client appends _total when exposing
        else:
            assert not name.endswith("_total"), name
