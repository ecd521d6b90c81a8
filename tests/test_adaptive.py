"""``--concurrency auto`` finds and keeps the knee of the server's throughput curve."""

from __future__ import annotations

from policybench.service.adaptive import AdaptiveController
from policybench.service.config import build_run_config
from policybench.service.limiter import Limiter
from policybench.service.records import RequestOutcome
from policybench.service.resources import shipped
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import SimFactory

LARGER = shipped("datasets") / "larger.jsonl"


class Server:
    """A closed-loop server model: ``capacity`` requests at once, ``service`` seconds each."""

    def __init__(self, capacity: int, service: float = 0.1) -> None:
        self.capacity, self.service, self.now = capacity, service, 0.0

    def drive(self, controller: AdaptiveController, limiter: Limiter, completions: int) -> None:
        for _ in range(completions):
            self.now += self.service / min(limiter.limit, self.capacity)
            controller.on_request(RequestOutcome(key="x", latency=self.service))


def test_it_climbs_to_the_knee_and_settles_on_it() -> None:
    server = Server(capacity=48)
    limiter = Limiter(1)
    controller = AdaptiveController(limiter, clock=lambda: server.now)
    server.drive(controller, limiter, 5000)
    assert max(controller.history) >= 48  # it went past the knee ...
    assert 40 <= limiter.limit <= 60  # ... and came back down to it


def test_a_faster_server_is_noticed_by_reprobing() -> None:
    server = Server(capacity=16)
    limiter = Limiter(1)
    controller = AdaptiveController(limiter, clock=lambda: server.now)
    server.drive(controller, limiter, 3000)
    settled = limiter.limit
    assert settled <= 24
    server.capacity = 64  # another tenant left
    server.drive(controller, limiter, 20000)
    assert limiter.limit > settled * 1.5


def test_rate_limits_halve_the_limit() -> None:
    limiter = Limiter(1)
    controller = AdaptiveController(limiter, initial=40)
    assert limiter.limit == 40
    controller.on_request(RequestOutcome(key="x", error_kind="rate_limited"))
    assert limiter.limit == 20


async def test_auto_concurrency_settles_near_a_simulated_servers_capacity(
    sim: SimFactory, store: Store
) -> None:
    knee = 8  # the server runs 8 requests at once; more only queue
    async with sim(
        datasets=[LARGER],
        max_num_seqs=knee,
        time_scale=1.0,
        base_latency=0.05,
        per_prompt_token=0.0,
        per_output_token=0.0,
    ) as (url, _app):
        config = build_run_config(
            {
                "dataset": str(LARGER),
                "base_url": url,
                "strategy": "gauntlet",
                "concurrency": "auto",
            }
        )
        result = await Run(prepare(config), store).execute()
    s = result.summary
    assert s.completed == 270
    history = s.concurrency_limit_history
    assert max(history) >= knee * 2  # it probed past the knee ...
    assert knee * 0.75 <= s.concurrency_limit <= knee * 2.5  # ... and settled near it
