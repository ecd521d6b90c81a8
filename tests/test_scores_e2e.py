"""``--scores logprobs`` end to end against the simulated server over real HTTP."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory
from .test_run_e2e import run_against

LLAMA_GUARD = "meta-llama/Llama-Guard-3-8B"


async def scored_run(sim: SimFactory, store: Store, **kw: Any) -> dict[str, Any]:
    sim_kwargs = {"error_rate": 0.15, "profile": "llama-guard-3-8b-rtx4090"}
    sim_kwargs.update(kw.pop("sim_kwargs", {}))
    cfg: dict[str, Any] = {"model": LLAMA_GUARD, "strategy": "gauntlet", "scores": "logprobs"}
    cfg.update(kw)
    result, _ = await run_against(sim, store, BALANCED, sim_kwargs=sim_kwargs, **cfg)
    assert result.status == "success"
    return {"summary": result.summary.to_json(), "run_id": result.run_id}  # the --json view


async def test_scores_agree_with_verdicts_and_are_stored(sim: SimFactory, store: Store) -> None:
    got = await scored_run(sim, store)
    s = got["summary"]["scores"]
    assert s["scored"] == 90 and s["unscored"] == 0
    assert 0.5 < s["auprc"] <= 1.0 and 0.5 < s["roc_auc"] <= 1.0
    # at threshold 0.5 a sample is unsafe exactly when some part answered unsafe, so the
    # operating point reproduces the text verdicts' binary accuracy
    op = s["operating_point"]
    assert (op["tp"] + op["tn"]) / 90 == pytest.approx(got["summary"]["binary_accuracy"]["value"])
    for record in store.iter_records(got["run_id"]):
        assert 0.0 <= record["score"] <= 1.0
        assert record["score"] == max(p["score"] for p in record["parts"])
        flagged = any(p["verdict"] for p in record["parts"])
        assert (record["score"] >= 0.5) == flagged


async def test_larger_separation_ranks_better_at_the_same_accuracy(
    sim: SimFactory, store: Store
) -> None:
    low = await scored_run(sim, store, sim_kwargs={"logprob_separation": 0.0})
    high = await scored_run(sim, store, sim_kwargs={"logprob_separation": 4.0})
    same = await scored_run(sim, store, sim_kwargs={"logprob_separation": 4.0})
    acc = [r["summary"]["binary_accuracy"]["value"] for r in (low, high)]
    assert acc[0] == acc[1]  # the verdicts are the same draws; only the confidence differs
    assert high["summary"]["scores"]["auprc"] > low["summary"]["scores"]["auprc"]
    assert same["summary"]["scores"] == high["summary"]["scores"]  # seeded


async def test_verdict_first_format_drops_max_tokens(sim: SimFactory, store: Store) -> None:
    got = await scored_run(
        sim,
        store,
        model="google/shieldgemma-2b",
        output_format="shieldgemma",
        sim_kwargs={"style": "shieldgemma"},
    )
    assert got["summary"]["scores"]["scored"] == 90
    records = list(store.iter_records(got["run_id"]))
    assert all(p["completion_tokens"] == 1 for r in records for p in r["parts"])
    assert got["summary"]["parse_failures"] == 0


async def test_without_scores_the_block_is_null(sim: SimFactory, store: Store) -> None:
    result, _ = await run_against(sim, store, BALANCED, sim_kwargs={"error_rate": 0.0})
    assert result.summary.scores is None
    record = next(iter(store.iter_records(result.run_id)))
    assert record["score"] is None


async def test_threshold_moves_the_operating_point(sim: SimFactory, store: Store) -> None:
    a = (await scored_run(sim, store, threshold=0.5))["summary"]["scores"]
    b = (await scored_run(sim, store, threshold=0.95))["summary"]["scores"]
    assert b["operating_point"]["threshold"] == 0.95
    assert b["operating_point"]["fp"] <= a["operating_point"]["fp"]
    assert b["operating_point"]["tp"] < a["operating_point"]["tp"]
    assert a["auprc"] == b["auprc"]
    assert orjson.dumps(a["best_f1"]) == orjson.dumps(b["best_f1"])
