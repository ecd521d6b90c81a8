"""End to end over real HTTP: the runner against the simulated server on a loopback port."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory, seed_file, served_models


async def run_against(sim: SimFactory, store: Store, dataset: Path, **cfg: Any) -> tuple[Any, Any]:
    sim_kwargs = {"also_serves": served_models(cfg), **cfg.pop("sim_kwargs", {})}
    async with sim(datasets=[dataset], **sim_kwargs) as (url, app):
        config = build_run_config(
            {"dataset": str(dataset), "base_url": url, "backend": "simulated", **cfg}
        )
        result = await Run(prepare(config), store).execute()
        return result, app


@pytest.mark.parametrize("strategy", ["multi", "gauntlet"])
async def test_perfect_simulator_scores_100_percent_on_balanced(
    sim: SimFactory, store: Store, strategy: str
) -> None:
    result, _ = await run_against(
        sim, store, BALANCED, strategy=strategy, sim_kwargs={"error_rate": 0.0}
    )
    s = result.summary
    assert result.status == "success"
    assert s.completed == s.samples == 90
    assert s.multi_policy_accuracy.value == 1.0
    assert s.binary_accuracy.value == 1.0
    assert s.parse_failures == 0 and s.errors == 0
    assert s.requests == 90 * (6 if strategy == "gauntlet" else 1)
    assert store.count_records(result.run_id) == 90


@pytest.mark.parametrize(
    "name", ["balanced_benchmark.json", "larger_benchmark.json", "wildguard_benchmark.json"]
)
@pytest.mark.parametrize("strategy", ["multi", "gauntlet"])
async def test_perfect_simulator_scores_100_percent_on_seed_files(
    sim: SimFactory, store: Store, name: str, strategy: str
) -> None:
    path = seed_file(name)
    result, _ = await run_against(
        sim, store, path, strategy=strategy, concurrency=64, sim_kwargs={"error_rate": 0.0}
    )
    assert result.summary.multi_policy_accuracy.value == 1.0
    assert result.summary.completed == result.summary.samples


@pytest.mark.parametrize("strategy", ["multi", "gauntlet"])
async def test_accuracy_equals_independent_recount_from_stored_records(
    sim: SimFactory, store: Store, strategy: str
) -> None:
    result, _ = await run_against(
        sim, store, BALANCED, strategy=strategy, sim_kwargs={"error_rate": 0.3, "seed": 7}
    )
    records = list(store.iter_records(result.run_id))
    assert len(records) == 90
    exact = sum(
        r["predicted"] is not None and set(r["predicted"]) == set(r["gold"]["labels"])
        for r in records
    )
    binary = sum(
        r["predicted"] is not None and bool(r["predicted"]) == bool(r["gold"]["labels"])
        for r in records
    )
    s = result.summary
    assert 0 < exact < 90  # the error rate really produced mistakes
    assert s.multi_policy_accuracy.successes == exact
    assert s.binary_accuracy.successes == binary
    # the stored verdicts are what the raw answers say (recounted from the raw content)
    import orjson

    for r in records:
        if strategy == "multi":
            raw = orjson.loads(r["parts"][0]["content"])["violations"]
            assert sorted(raw) == r["predicted"]
        else:
            raw = sorted(
                p["key"] for p in r["parts"] if orjson.loads(p["content"])["violation"] == 1
            )
            assert raw == r["predicted"]


async def test_verdict_is_never_read_from_the_reasoning_field(
    sim: SimFactory, store: Store
) -> None:
    # the simulator's reasoning quotes a decoy verdict ("hate_speech") for every sample
    result, _ = await run_against(
        sim,
        store,
        BALANCED,
        sim_kwargs={"error_rate": 0.0, "reasoning_tokens": 40, "reasoning_field": "both"},
    )
    assert result.summary.multi_policy_accuracy.value == 1.0
    record = next(iter(store.iter_records(result.run_id)))
    assert "hate_speech" in record["parts"][0]["reasoning"]


@pytest.mark.parametrize("concurrency", [1, 32])
async def test_in_flight_requests_are_bounded_by_concurrency(
    sim: SimFactory, store: Store, concurrency: int
) -> None:
    from policybench.bench.sim.app import STATS

    # a slow enough server that the client fills every slot it is allowed
    _result, app = await run_against(
        sim,
        store,
        BALANCED,
        concurrency=concurrency,
        limit=40 if concurrency == 1 else 90,
        sim_kwargs={
            "time_scale": 0.2,
            "base_latency": 0.05,
            "per_output_token": 0.0,
            "per_prompt_token": 0.0,
        },
    )
    assert app[STATS].max_running == concurrency


async def test_resume_sends_only_missing_samples(sim: SimFactory, store: Store) -> None:
    from policybench.bench.sim.app import STATS

    result, _ = await run_against(sim, store, BALANCED, limit=30, sim_kwargs={"error_rate": 0.2})
    assert store.count_records(result.run_id) == 30
    # widen the run to the whole set and resume: only the 60 missing samples are sent
    async with sim(datasets=[BALANCED], error_rate=0.2) as (url, app):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "backend": "simulated"}
        )
        resumed = await Run(prepare(config), store, resume=result.run_id).execute()
        assert app[STATS].requests == 60
    assert resumed.summary.completed == 90
    assert store.count_records(result.run_id) == 90


@pytest.mark.parametrize("strategy", ["multi", "gauntlet"])
async def test_simulator_answers_binary_only_gold(
    sim: SimFactory, store: Store, tmp_path: Path, strategy: str
) -> None:
    # the simulator itself only knows "harmful or not" for these texts (an xstest-like file)
    import orjson

    path = tmp_path / "binary.jsonl"
    rows = [orjson.loads(line) for line in BALANCED.read_bytes().splitlines()]
    path.write_bytes(
        b"\n".join(
            orjson.dumps({"id": r["id"], "text": r["text"], "unsafe": bool(r["labels"])})
            for r in rows
        )
    )
    result, _ = await run_against(
        sim, store, path, strategy=strategy, sim_kwargs={"error_rate": 0.0}
    )
    s = result.summary
    assert s.multi_policy_accuracy is None
    assert s.binary_accuracy.value == 1.0 and s.binary_accuracy.n == 90
