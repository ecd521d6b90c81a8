"""Ensembles of simulated models that err independently: a majority vote beats its members."""

from __future__ import annotations

from typing import Any

from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory, served_models

MODELS = ("guard-a", "guard-b", "guard-c")


async def _run(
    sim: SimFactory, store: Store, independent: bool, **cfg: Any
) -> tuple[dict[str, Any], str]:
    served = served_models(cfg)
    async with sim(error_rate=0.25, seed=3, independent_models=independent, also_serves=served) as (
        url,
        _,
    ):
        config = build_run_config({"dataset": str(BALANCED), "base_url": url, **cfg})
        result = await Run(prepare(config), store).execute()
    return result.summary, result.run_id


async def test_majority_of_independent_models_beats_each_member(
    sim: SimFactory, store: Store
) -> None:
    singles = []
    for model in MODELS:
        summary, _ = await _run(sim, store, True, model=model)
        singles.append(summary.multi_policy_accuracy.value)
    summary, run_id = await _run(
        sim,
        store,
        True,
        strategy="ensemble",
        ensemble_members=[f"multi@{m}" for m in MODELS],
        vote="majority",
    )
    assert summary.completed == 90 and summary.parse_failures == 0
    assert summary.multi_policy_accuracy.value > max(singles)
    records = list(store.iter_records(run_id))
    disagreements = sum(
        len({tuple(m["predicted"] or ()) for m in r["members"]}) > 1 for r in records
    )
    assert disagreements > 0


async def test_without_independence_every_member_makes_the_same_mistakes(
    sim: SimFactory, store: Store
) -> None:
    summary, run_id = await _run(
        sim,
        store,
        False,
        strategy="ensemble",
        ensemble_members=[f"multi@{m}" for m in MODELS],
        vote="majority",
    )
    records = list(store.iter_records(run_id))
    assert all(len({tuple(m["predicted"] or ()) for m in r["members"]}) == 1 for r in records)
    assert summary.multi_policy_accuracy.value < 1.0
