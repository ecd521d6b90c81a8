"""Streamed answers (``--stream``): same verdicts, plus time to first token, over real SSE."""

from __future__ import annotations

import pytest
from aiohttp import web
from policybench.bench.sim.faults import FaultConfig
from policybench.service.config import build_run_config
from policybench.service.errors import ConfigError
from policybench.service.metrics import RunMetrics
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from prometheus_client import CollectorRegistry

from .conftest import BALANCED, SimFactory


async def test_streamed_run_scores_like_a_whole_one_and_measures_ttft(
    sim: SimFactory, store: Store
) -> None:
    registry = CollectorRegistry()
    async with sim(error_rate=0.0, time_scale=0.05, reasoning_field="both") as (url, _):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "stream": True, "strategy": "gauntlet"}
        )
        result = await Run(
            prepare(config), store, observer=RunMetrics(registry).observer()
        ).execute()
    s = result.summary
    assert s.completed == 90 and s.errors == 0 and s.parse_failures == 0
    assert s.multi_policy_accuracy.value == 1.0
    assert s.tokens.completion > 0  # usage arrived in the last chunk
    ttft = s.ttft_seconds
    assert ttft is not None and 0 < ttft.p50 <= s.request_latency_seconds.p50
    record = next(iter(store.iter_records(result.run_id)))
    part = record["parts"][0]
    assert part["ttft"] is not None and part["reasoning"]  # reasoning deltas kept apart
    count = registry.get_sample_value(
        "policybench_time_to_first_token_seconds_count", {"run_id": result.run_id}
    )
    assert count == 90 * 6


async def test_a_stream_dropped_midway_is_retried(sim: SimFactory, store: Store) -> None:
    async with sim(error_rate=0.0, faults=FaultConfig(rates=(("drop", 0.2),))) as (url, _):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "stream": True, "max_attempts": 8}
        )
        result = await Run(prepare(config), store).execute()
    s = result.summary
    assert s.completed == 90 and s.errors == 0
    assert s.multi_policy_accuracy.value == 1.0
    attempts = [p["attempts"] for r in store.iter_records(result.run_id) for p in r["parts"]]
    assert max(attempts) > 1  # some streams were cut and sent again


async def test_a_stream_without_an_end_is_an_error_not_a_verdict(store: Store) -> None:
    async def chat(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(
            b'data: {"choices": [{"index": 0, "delta": {"content": "{\\"violations\\": []"}}]}\n\n'
        )
        await resp.write_eof()  # no finish_reason, no [DONE]
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": url,
                "stream": True,
                "limit": 5,
                "max_attempts": 2,
            }
        )
        result = await Run(prepare(config), store).execute()
    finally:
        await runner.cleanup()
    assert result.summary.errors == 5 and result.summary.completed == 5


def test_stream_and_batching_do_not_mix() -> None:
    with pytest.raises(ConfigError, match="stream"):
        build_run_config({"dataset": "balanced", "stream": True, "batch_size": 8})
