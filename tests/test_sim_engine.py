"""The continuous-batching step model: limits, ordering, prefix caching, and its prediction.

Assertions are on the engine's model clock and step counts, never on wall time."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from policybench.bench.sim import ProfileError, available, load_profile
from policybench.bench.sim.engine import Engine, EngineSequence
from policybench.bench.sim.predict import predict
from policybench.bench.sim.rendering import block_hashes

PROFILE = load_profile("gpt-oss-20b-h100")


class Watch:
    """EngineEvents that remember the finish order and the largest batch."""

    def __init__(self, engine_ref: list[Engine]) -> None:
        self.order: list[int] = []
        self.max_running = 0
        self.max_waiting = 0
        self._engine = engine_ref

    def admitted(self, seq: EngineSequence) -> None:
        eng = self._engine[0]
        self.max_running = max(self.max_running, eng.running + 1)
        self.max_waiting = max(self.max_waiting, len(eng.waiting))

    def first_token(self, seq: EngineSequence) -> None:
        pass

    def finished(self, seq: EngineSequence) -> None:
        self.order.append(seq.rid)

    def step(self, seconds: float, tokens: int, decode_seqs: int) -> None:
        pass


def make(profile=PROFILE, scale: float = 1e-4, **kw) -> tuple[Engine, Watch]:
    ref: list[Engine] = []
    watch = Watch(ref)
    engine = Engine(profile, scale, watch, **kw)
    ref.append(engine)
    engine.start()
    return engine, watch


async def test_requests_finish_in_model_order_not_arrival_order() -> None:
    engine, watch = make()
    long = EngineSequence(prompt_tokens=100, output_tokens=400)
    short = EngineSequence(prompt_tokens=100, output_tokens=3)
    await asyncio.gather(engine.submit(long), engine.submit(short))
    await engine.stop()
    assert watch.order == [short.rid, long.rid]


async def test_at_most_max_num_seqs_run_the_rest_wait() -> None:
    profile = dataclasses.replace(PROFILE, max_num_seqs=3)
    engine, watch = make(profile)
    seqs = [EngineSequence(prompt_tokens=50, output_tokens=20) for _ in range(10)]
    await asyncio.gather(*(engine.submit(s) for s in seqs))
    await engine.stop()
    assert watch.max_running == 3
    assert watch.max_waiting >= 6
    assert all(s.finished_at is not None for s in seqs)
    assert engine.kv_used == 0 and engine.running == 0


async def test_kv_budget_limits_what_runs() -> None:
    profile = dataclasses.replace(PROFILE, kv_cache_tokens=1000)
    engine, watch = make(profile)
    seqs = [EngineSequence(prompt_tokens=300, output_tokens=100) for _ in range(6)]
    await asyncio.gather(*(engine.submit(s) for s in seqs))
    await engine.stop()
    assert watch.max_running == 2  # 2 x 400 tokens fit in 1000, 3 do not


async def model_seconds(prefix_caching: bool) -> tuple[float, int]:
    engine, _ = make(prefix_caching=prefix_caching)
    policy = "P" * 8000  # a 2,000-token shared policy prompt
    total_hit = 0
    for i in range(20):  # one after another: each sees the blocks the previous computed
        text = policy + f"user text number {i} " * 20
        seq = EngineSequence(prompt_tokens=len(text) // 4, output_tokens=5, block_hashes=block_hashes(text, 16))  # fmt: skip
        await engine.submit(seq)
        total_hit += seq.cached_tokens
    await engine.stop()
    return engine.model_seconds, total_hit


async def test_shared_prefix_is_cheaper_with_prefix_caching() -> None:
    on, hits_on = await model_seconds(True)
    off, hits_off = await model_seconds(False)
    assert hits_off == 0
    assert hits_on >= 19 * 2000  # every request after the first reuses the policy's blocks
    assert on < 0.8 * off


async def test_zero_time_scale_answers_at_once() -> None:
    engine = Engine(PROFILE, 0.0)
    engine.start()
    seq = EngineSequence(prompt_tokens=10, output_tokens=50)
    fut = engine.submit(seq)
    assert fut.done() and seq.generated == 50
    await engine.stop()


def test_throughput_rises_to_max_num_seqs_then_flattens() -> None:
    profile = dataclasses.replace(PROFILE, max_num_seqs=64)
    rates = {
        c: predict(
            profile, c, prompt_tokens=1000, computed_prompt_tokens=100, output_tokens=400
        ).requests_per_second
        for c in (1, 8, 32, 64, 128, 256)
    }
    assert rates[1] < rates[8] < rates[32] < rates[64]
    assert rates[128] == pytest.approx(rates[256])
    assert rates[128] == pytest.approx(rates[64], rel=0.05)


def test_shipped_profiles_load_and_cite_sources() -> None:
    names = available()
    assert {"gpt-oss-20b-h100", "gpt-oss-safeguard-20b-h100", "llama-guard-3-8b-rtx4090"} <= set(names)  # fmt: skip
    for name in names:
        p = load_profile(name)
        assert p.calibrated_from, name
        assert p.step_seconds(2, 0, 0) > p.step_seconds(1, 0, 0) or p.per_seq_small_seconds == 0
    assert load_profile("gpt-oss-20b").name == "gpt-oss-20b-h100"
    with pytest.raises(ProfileError):
        load_profile("no-such-gpu")
