"""Several endpoints: least-outstanding routing, failover, probing back in, prefix affinity."""

from __future__ import annotations

import contextlib
import socket

from policybench.service.client import Completion
from policybench.service.config import build_run_config
from policybench.service.endpoints import EndpointPool
from policybench.service.errors import TransportError
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory


def dead_url() -> str:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def test_a_dead_endpoint_is_taken_out_and_no_sample_is_lost(
    sim: SimFactory, store: Store
) -> None:
    dead = dead_url()
    async with sim(error_rate=0.0) as (url, _app):
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": dead,
                "endpoints": [url],
                "strategy": "gauntlet",
                "concurrency": 16,
                "max_attempts": 6,
            }
        )
        result = await Run(prepare(config), store).execute()
    s = result.summary
    assert s.completed == 90 and s.errors == 0
    assert s.multi_policy_accuracy.value == 1.0
    figures = s.endpoints
    assert figures[dead].errors >= 3 and figures[dead].times_taken_out >= 1
    assert figures[url].requests >= 540  # every request eventually answered by the live one
    assert figures[dead].requests < figures[url].requests / 5


class Scripted:
    """An upstream that fails while ``down`` is set (stands in for one server)."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    async def __aenter__(self) -> Scripted:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def chat(
        self, system: str, user: str, model: str | None = None, reasoning_effort: str | None = None
    ) -> Completion:
        self.calls += 1
        if self.down:
            raise TransportError("refused")
        return Completion("{}", None, "stop", 1, 1, 0.01)


async def test_a_recovered_endpoint_is_probed_back_in() -> None:
    now = [0.0]
    a, b = Scripted(), Scripted()
    pool = EndpointPool(
        [("a", a), ("b", b)], failure_threshold=2, probe_after=5.0, clock=lambda: now[0]
    )
    a.down = True
    for i in range(50):  # until `a` has failed twice (affinity spreads prompts over both)
        if a.calls >= 2:
            break
        with contextlib.suppress(TransportError):
            await _call(pool, f"warm{i}")
    assert pool.endpoints[0].down_until == 5.0
    before = a.calls
    for _ in range(10):
        await _call(pool, "x")
    assert a.calls == before  # out: no traffic
    a.down = False
    now[0] = 6.0  # probe time
    for _ in range(20):
        await _call(pool, f"p{_}")
    assert a.calls > before  # probed and back in
    assert pool.endpoints[0].down_until == 0.0


async def _call(pool: EndpointPool, system: str) -> Completion:
    return await pool.chat(system, "text")


async def test_requests_sharing_a_system_prompt_prefer_one_endpoint() -> None:
    a, b, c = Scripted(), Scripted(), Scripted()
    pool = EndpointPool([("a", a), ("b", b), ("c", c)])
    for _ in range(30):
        await pool.chat("the violence policy", "text")
    assert sorted((a.calls, b.calls, c.calls)) == [0, 0, 30]
