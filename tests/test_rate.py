"""``--rate``: Poisson arrivals at the asked-for rate: the seeded schedule, and the run
paced by it as the server sees it (nothing here depends on how loaded the machine is)."""

from __future__ import annotations

import itertools
import statistics
import time

from aiohttp import web
from policybench.service.config import build_run_config
from policybench.service.resources import shipped
from policybench.service.runner import Run, _Arrivals, prepare
from policybench.service.store import Store

LARGER = shipped("datasets") / "larger.jsonl"


def schedule(rate: float, n: int) -> list[float]:
    """The absolute times the dispatcher sleeps to (the run's seed is 0)."""
    arrivals = _Arrivals(rate, seed=0)
    times = []
    for _ in range(n):
        arrivals.next_delay()
        times.append(arrivals._next)
    return times


def test_the_schedule_is_poisson_at_the_rate() -> None:
    rate = 150.0
    gaps = [b - a for a, b in itertools.pairwise(schedule(rate, 2000))]
    mean = statistics.fmean(gaps)
    # 1999 exponential gaps: the mean is within a few standard errors of 1/rate ...
    assert abs(mean - 1 / rate) < 4 * (1 / rate) / len(gaps) ** 0.5
    # ... and they are exponential, not evenly spaced: coefficient of variation near 1
    assert 0.9 < statistics.stdev(gaps) / mean < 1.1


async def test_arrivals_are_paced_by_the_schedule(store: Store) -> None:
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
    assert len(arrivals) == 270
    # Paced, not a burst: lateness only delays an arrival, and the schedule is absolute,
    # so the span of the arrivals falls short of the schedule's only by how late the first
    # request was.
    planned = schedule(rate, 270)
    assert arrivals[-1] - arrivals[0] > 0.5 * (planned[-1] - planned[0])
