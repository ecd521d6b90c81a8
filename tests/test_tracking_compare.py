"""``bench compare``: paired exact McNemar on simulated runs with chosen error rates.

The seed's pattern (two runs of 300 samples at about 21% and 23%) must be called not
significant; a large true difference must be called significant; runs on different
samples must be refused.  Runs go through real HTTP against the simulated server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.compare import UnpairableRuns, compare_runs
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.stats import mcnemar_exact
from policybench.service.store import Store

from .conftest import BALANCED, SEED_DATA, SimFactory

CATS = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")


def dataset_300(tmp_path: Path) -> Path:
    """The seed's WildGuard benchmark (300 samples), or a generated one of the same size."""
    seed = SEED_DATA / "wildguard_benchmark.json"
    if seed.is_file():
        return seed
    path = tmp_path / "generated300.jsonl"
    lines = []
    for i in range(300):
        labels = [] if i % 6 == 0 else [CATS[i % 5 if i % 5 != 3 else 5]]
        lines.append(
            orjson.dumps({"id": f"g{i:03d}", "text": f"sample text {i}", "labels": labels})
        )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


async def sim_run(
    sim: SimFactory, store: Store, dataset: Path, error_rate: float, seed: int, **cfg: Any
) -> str:
    async with sim(datasets=[dataset], error_rate=error_rate, seed=seed) as (url, _app):
        values = {"dataset": str(dataset), "base_url": url, "concurrency": 64, **cfg}
        result = await Run(prepare(build_run_config(values)), store).execute()
    assert result.status == "success"
    return result.run_id


def recount(store: Store, a: str, b: str) -> tuple[int, int, int]:
    """Independent recount: (pairs, only A right, only B right) from the raw records."""
    ra = {r["sample_id"]: r for r in store.iter_records(a)}
    rb = {r["sample_id"]: r for r in store.iter_records(b)}

    def right(r: dict[str, Any]) -> bool:
        return r["predicted"] is not None and set(r["predicted"]) == set(r["gold"]["labels"])

    common = ra.keys() & rb.keys()
    only_a = sum(right(ra[s]) and not right(rb[s]) for s in common)
    only_b = sum(right(rb[s]) and not right(ra[s]) for s in common)
    return len(common), only_a, only_b


async def test_seed_pattern_21_vs_23_percent_is_not_significant(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    data = dataset_300(tmp_path)
    a = await sim_run(sim, store, data, error_rate=0.80, seed=1)
    b = await sim_run(sim, store, data, error_rate=0.77, seed=5)
    cmp = compare_runs(store, a, b)
    assert cmp.pairs == 300
    assert cmp.accuracy_a is not None and cmp.accuracy_b is not None
    assert 0.15 <= cmp.accuracy_a["value"] <= 0.25
    assert 0.19 <= cmp.accuracy_b["value"] <= 0.27
    pairs, only_a, only_b = recount(store, a, b)
    assert (pairs, only_a, only_b) == (cmp.pairs, cmp.only_a, cmp.only_b)
    assert cmp.p_value == pytest.approx(mcnemar_exact(only_a, only_b))
    assert cmp.p_value >= 0.05
    assert not cmp.significant
    assert "NOT significant" in cmp.sentence()
    # the Wilson intervals overlap heavily, as the seed's 21.0% vs 23.0% did
    assert cmp.accuracy_a["ci_high"] > cmp.accuracy_b["value"]

    result = CliRunner().invoke(cli, ["compare", a, b, "--store", str(store.path), "--json"])
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    assert out["significant"] is False
    assert out["mcnemar_p"] == pytest.approx(cmp.p_value)
    assert set(out["per_category"]) == set(CATS)


async def test_large_true_difference_is_significant(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    data = dataset_300(tmp_path)
    a = await sim_run(sim, store, data, error_rate=0.80, seed=1)
    b = await sim_run(sim, store, data, error_rate=0.30, seed=3)
    cmp = compare_runs(store, a, b)
    assert cmp.pairs == 300
    assert cmp.significant and cmp.p_value < 0.001
    assert cmp.only_b > cmp.only_a
    assert cmp.sentence().endswith("B is better.")
    assert cmp.delta is not None and cmp.delta > 0.3

    result = CliRunner().invoke(cli, ["compare", a, b, "--store", str(store.path)])
    assert result.exit_code == 0, result.output
    assert "the difference is significant" in " ".join(result.stdout.split())


async def test_runs_on_different_samples_cannot_be_paired(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    a = await sim_run(sim, store, BALANCED, error_rate=0.2, seed=1)
    b = await sim_run(sim, store, dataset_300(tmp_path), error_rate=0.2, seed=1)
    with pytest.raises(UnpairableRuns, match="cannot be paired"):
        compare_runs(store, a, b)
    result = CliRunner().invoke(cli, ["compare", a, b, "--store", str(store.path)])
    assert result.exit_code == 2
    assert "cannot be paired" in result.stderr
