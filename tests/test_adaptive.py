"""``--concurrency auto`` converges near the knee of a simulated server with a known capacity."""

from __future__ import annotations

from policybench.service.adaptive import GradientController
from policybench.service.config import build_run_config
from policybench.service.limiter import Limiter
from policybench.service.records import RequestOutcome
from policybench.service.resources import shipped
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import SimFactory

LARGER = shipped("datasets") / "larger.jsonl"


async def test_auto_concurrency_settles_near_the_servers_capacity(sim: SimFactory, store: Store) -> None:
    knee = 16  # the server runs 16 requests at once; more only queue
    async with sim(
        datasets=[LARGER], max_num_seqs=knee, time_scale=1.0, base_latency=0.02,
        per_prompt_token=0.0, per_output_token=0.0,
    ) as (url, _app):
        config = build_run_config({
            "dataset": str(LARGER), "base_url": url, "strategy": "gauntlet", "concurrency": "auto",
        })
        result = await Run(prepare(config), store).execute()
    s = result.summary
    assert s["completed"] == 270
    history = s["concurrency_limit_history"]
    assert max(history) > knee  # it probed past the knee ...
    assert knee * 0.75 <= s["concurrency_limit"] <= knee * 3  # ... and settled near it


def test_rate_limits_halve_the_limit() -> None:
    limiter = Limiter(1)
    controller = GradientController(limiter, initial=40)
    assert limiter.limit == 40
    controller.on_request(RequestOutcome(key="x", error_kind="rate_limited"))
    assert limiter.limit == 20


def test_flat_latency_grows_the_limit_and_queueing_shrinks_it() -> None:
    limiter = Limiter(1)
    controller = GradientController(limiter, initial=8, min_window=8)
    for _ in range(10):  # ten windows at a flat 100 ms: no queueing, keep growing
        for _ in range(limiter.limit):
            controller.on_request(RequestOutcome(key="x", latency=0.1))
    grown = limiter.limit
    assert grown > 20
    for _ in range(10):  # latency four times the best: requests are queueing
        for _ in range(limiter.limit):
            controller.on_request(RequestOutcome(key="x", latency=0.4))
    assert limiter.limit < grown
