"""``--scores logprobs`` end to end against the simulated server over real HTTP."""

from __future__ import annotations

from pathlib import Path
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


def cli_json(store: Store, *args: str) -> dict[str, Any]:
    from click.testing import CliRunner
    from policybench.bench.cli import cli

    result = CliRunner().invoke(cli, [*args, "--store", str(store.path), "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


async def test_rescore_threshold_moves_the_operating_point_without_requests(
    sim: SimFactory, store: Store
) -> None:
    got = await scored_run(sim, store)
    before = got["summary"]["scores"]
    out = cli_json(store, "rescore", got["run_id"], "--threshold", "0.9")
    after = out["summary"]["scores"]
    assert out["threshold"] == 0.9 and after["operating_point"]["threshold"] == 0.9
    assert after["auprc"] == before["auprc"] and after["scored"] == before["scored"]
    # recount the operating point from the stored scores by hand
    records = list(store.iter_records(got["run_id"]))
    tp = sum(1 for r in records if r["score"] >= 0.9 and r["gold"]["unsafe"])
    fp = sum(1 for r in records if r["score"] >= 0.9 and not r["gold"]["unsafe"])
    assert (after["operating_point"]["tp"], after["operating_point"]["fp"]) == (tp, fp)
    assert out["summary"]["binary_accuracy"] == got["summary"]["binary_accuracy"]


async def test_compare_tests_auprc_with_a_seeded_paired_bootstrap(
    sim: SimFactory, store: Store
) -> None:
    weak = await scored_run(sim, store, sim_kwargs={"logprob_separation": 0.0, "seed": 3})
    strong = await scored_run(sim, store, sim_kwargs={"logprob_separation": 5.0, "seed": 3})
    out = cli_json(store, "compare", weak["run_id"], strong["run_id"])
    s = out["scores"]
    assert s["pairs"] == 90 and s["seed"] == 0
    assert s["auprc"]["a"] == weak["summary"]["scores"]["auprc"]
    assert s["auprc"]["b"] == strong["summary"]["scores"]["auprc"]
    assert s["auprc"]["delta"] > 0 and s["auprc"]["ci_low"] <= s["auprc"]["delta"]
    assert 0.0 <= s["auprc"]["p_value"] <= 1.0
    again = cli_json(store, "compare", weak["run_id"], strong["run_id"])
    assert again["scores"] == s  # seeded
    same = cli_json(store, "compare", strong["run_id"], strong["run_id"])
    assert same["scores"]["auprc"]["delta"] == 0.0
    assert same["scores"]["auprc"]["significant"] is False


async def test_html_report_shows_pr_and_roc_curves(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    from click.testing import CliRunner
    from policybench.bench.cli import cli

    def html(run_id: str) -> str:
        out = tmp_path / f"{run_id}.html"
        args = ["report", run_id, "--store", str(store.path), "--format", "html", "-o", str(out)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return out.read_text(encoding="utf-8")

    scored = await scored_run(sim, store)
    assert 'id="chart-score-curves"' in html(scored["run_id"])
    plain, _ = await run_against(sim, store, BALANCED, sim_kwargs={"error_rate": 0.0})
    assert 'id="chart-score-curves"' not in html(plain.run_id)


async def test_verbalised_confidence_is_read_as_the_score(sim: SimFactory, store: Store) -> None:
    result, _ = await run_against(
        sim,
        store,
        BALANCED,
        model="openai/gpt-oss-safeguard-20b",
        scores="confidence",
        sim_kwargs={"error_rate": 0.1},
    )
    s = result.summary.to_json()["scores"]
    assert s["scored"] == 90 and s["auprc"] > 0.8
    for record in store.iter_records(result.run_id):
        content = record["parts"][0]["content"]
        stated = orjson.loads(content[content.index("{") : content.rindex("}") + 1])["confidence"]
        flagged = bool(record["predicted"])
        assert record["score"] == pytest.approx(stated if flagged else 1 - stated)


def test_logprob_scores_refuse_streams_and_batches() -> None:
    from policybench.service.config import build_run_config
    from policybench.service.errors import InputError

    base = {"dataset": str(BALANCED), "scores": "logprobs"}
    for extra in ({"batch_size": 4}, {"stream": True}):
        with pytest.raises(InputError, match="logprobs"):
            build_run_config({**base, **extra})
    assert build_run_config({**base, "scores": "confidence", "batch_size": 4}).batch_size == 4


def test_native_formats_are_not_exported_to_offline_batches(tmp_path: Path) -> None:
    from policybench.service.config import build_run_config
    from policybench.service.errors import InputError
    from policybench.service.offline import export_batch
    from policybench.service.runner import prepare

    config = build_run_config({"dataset": str(BALANCED), "prompt_format": "wildguard"})
    with pytest.raises(InputError, match="prompt-format"):
        export_batch(prepare(config), tmp_path / "batch.jsonl")
    assert not (tmp_path / "batch.jsonl").exists()
