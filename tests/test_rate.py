"""``--rate``: Poisson arrivals at the asked-for rate, seen from the server's side."""

from __future__ import annotations

import itertools
import statistics
import time

from aiohttp import web
from policybench.service.config import build_run_config
from policybench.service.resources import shipped
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

LARGER = shipped("datasets") / "larger.jsonl"


async def test_arrivals_follow_the_rate_and_are_poisson(store: Store) -> None:
    arrivals: list[float] = []

    async def chat(request: web.Request) -> web.Response:
        arrivals.append(time.perf_counter())
        return web.json_response(
            {
                "choices": [
                    {
                        "index": 0,
                        "message": {"content": '{"violations": []}'},
                        "finish_reason": "stop",
                    }
                ]
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        rate = 150.0
        config = build_run_config(
            {
                "dataset": str(LARGER),
                "base_url": f"http://127.0.0.1:{port}/v1",
                "rate": rate,
                "concurrency": 64,
            }
        )
        result = await Run(prepare(config), store).execute()
    finally:
        await runner.cleanup()
    assert result.summary.completed == 270
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    mean = statistics.fmean(gaps)
    # 269 exponential gaps: the mean is within a few standard errors of 1/rate ...
    assert abs(mean - 1 / rate) < 4 * (1 / rate) / len(gaps) ** 0.5 + 0.001
    # ... and they are exponential, not evenly spaced: coefficient of variation near 1
    cv = statistics.stdev(gaps) / mean
    assert 0.75 < cv < 1.3
