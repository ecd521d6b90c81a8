"""``bench sweep`` finds the knee of a simulated server whose capacity is known."""

from __future__ import annotations

from pathlib import Path

from policybench.bench.sweep import Step, find_knee, sweep, write_csv
from policybench.service.config import build_run_config
from policybench.service.runner import prepare

from .conftest import BALANCED, SimFactory


def step(c: int, sps: float) -> Step:
    return Step(c, 10, sps, sps, 0.1, 0.1, 0.1)


def test_find_knee_is_the_last_step_that_paid_off() -> None:
    steps = [step(1, 10), step(2, 20), step(4, 39), step(8, 41), step(16, 40)]
    assert find_knee(steps) == 2
    assert find_knee([step(1, 10), step(2, 20)]) is None


async def test_sweep_finds_the_capacity_of_the_server(sim: SimFactory, tmp_path: Path) -> None:
    async with sim(
        max_num_seqs=4,
        time_scale=1.0,
        base_latency=0.04,
        per_prompt_token=0.0,
        per_output_token=0.0,
    ) as (url, _):
        prepared = prepare(
            build_run_config({"dataset": str(BALANCED), "base_url": url, "limit": 48})
        )
        steps, knee = await sweep(prepared, [1, 2, 4, 8, 16], store_path=None)
    assert [s.concurrency for s in steps] == [1, 2, 4, 8, 16]
    assert knee is not None and steps[knee].concurrency == 4
    # past the knee latency grows: requests queue instead of running
    assert steps[4].p50 is not None and steps[2].p50 is not None and steps[4].p50 > 2 * steps[2].p50
    write_csv(steps, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_text().splitlines()[0].startswith("concurrency,")
