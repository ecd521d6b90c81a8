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


async def test_sweep_runs_every_level_and_reports_the_knee_of_its_own_steps(
    sim: SimFactory, tmp_path: Path
) -> None:
    # Where the knee falls depends on throughput measured in wall time, which a loaded
    # machine distorts: the knee rule is tested on known figures above; here the sweep
    # itself, against a real server, with nothing that depends on timing.
    async with sim(
        max_num_seqs=4,
        time_scale=1.0,
        base_latency=0.01,
        per_prompt_token=0.0,
        per_output_token=0.0,
    ) as (url, _app):
        prepared = prepare(
            build_run_config({"dataset": str(BALANCED), "base_url": url, "limit": 24})
        )
        steps, knee = await sweep(prepared, [1, 2, 4, 8], store_path=None)
    assert [s.concurrency for s in steps] == [1, 2, 4, 8]
    assert all(s.samples == 24 for s in steps)  # each step is a whole run of its own
    assert all(s.samples_per_s > 0 and s.p50 is not None for s in steps)
    assert knee == find_knee(steps)
    write_csv(steps, tmp_path / "s.csv")
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[0].startswith("concurrency,") and len(rows) == 1 + len(steps)
