"""``--by FIELD``: every headline metric per group (``source`` or a ``meta`` key), equal to
an independent recount from the stored records; bounded groups; a bad field is a usage
error before any request.  Runs go over real HTTP against the simulated server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.config import build_run_config
from policybench.service.errors import ConfigError
from policybench.service.runner import Run, prepare
from policybench.service.runsummary import summarise
from policybench.service.slices import MAX_GROUPS
from policybench.service.store import Store

from .conftest import SimFactory

CATS = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")


def dataset(tmp_path: Path, n: int = 120) -> Path:
    path = tmp_path / "sliced.jsonl"
    lines = []
    for i in range(n):
        meta: dict[str, Any] = {"adversarial": i % 3 == 0, "lang": f"l{i}"}
        if i % 10 == 0:
            del meta["adversarial"]
        lines.append(
            orjson.dumps(
                {
                    "id": f"x{i}",
                    "text": f"sample number {i}",
                    "labels": [] if i % 4 == 0 else [CATS[i % 6]],
                    "source": "vanilla" if i % 2 else "wild",
                    "meta": meta,
                }
            )
        )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def recount(store: Store, run_id: str, key: str) -> dict[str, dict[str, int]]:
    """Per group: samples, exact-set right, binary right, TP/FP/FN (rule ``wrong``)."""
    out: dict[str, dict[str, int]] = {}
    for r in store.iter_records(run_id):
        meta = r.get("meta") or {}
        group = (
            r["source"]
            if key == "source"
            else orjson.dumps(meta[key]).decode()
            if key in meta
            else "(missing)"
        )
        g = out.setdefault(group, {"n": 0, "exact": 0, "binary": 0, "tp": 0, "fp": 0, "fn": 0})
        gold = set(r["gold"]["labels"])
        pred = None if r["predicted"] is None else set(r["predicted"])
        g["n"] += 1
        g["exact"] += pred == gold
        flagged = (not gold) if pred is None else bool(pred)  # a failure is the wrong class
        g["binary"] += pred is not None and flagged == bool(gold)
        g["tp"] += bool(gold) and flagged
        g["fp"] += (not gold) and flagged
        g["fn"] += bool(gold) and not flagged
    return out


async def sliced_run(sim: SimFactory, store: Store, path: Path, by: str) -> Any:
    async with sim(datasets=[path], error_rate=0.3, seed=2, empty_rate=0.05) as (url, _app):
        config = build_run_config(
            {"dataset": str(path), "base_url": url, "concurrency": 16, "by": by}
        )
        return await Run(prepare(config), store).execute()


@pytest.mark.parametrize("by", ["adversarial", "source"])
async def test_every_group_equals_a_recount(
    sim: SimFactory, store: Store, tmp_path: Path, by: str
) -> None:
    path = dataset(tmp_path)
    result = await sliced_run(sim, store, path, by)
    slices = result.summary.to_json()["slices"]
    assert slices["by"] == by and slices["capped"] is False
    expect = recount(store, result.run_id, by)
    names = {"adversarial": {"true", "false", "(missing)"}, "source": {"vanilla", "wild"}}[by]
    assert set(slices["groups"]) == set(expect) == names
    assert sum(g["samples"] for g in slices["groups"].values()) == 120
    for name, g in slices["groups"].items():
        e = expect[name]
        assert g["samples"] == e["n"]
        assert (g["multi_policy_accuracy"]["successes"], g["multi_policy_accuracy"]["n"]) == (
            e["exact"],
            e["n"],
        )
        assert g["binary_accuracy"]["successes"] == e["binary"]
        f1 = 2 * e["tp"] / (2 * e["tp"] + e["fp"] + e["fn"])
        assert g["binary_f1"]["value"] == pytest.approx(f1)
        assert g["binary_f1"]["ci_low"] <= f1 <= g["binary_f1"]["ci_high"]
        assert g["binary_precision"]["value"] == pytest.approx(e["tp"] / (e["tp"] + e["fp"]))
    # the stored run re-derives the same slices from its records
    assert summarise(store, result.run_id).summary.to_json()["slices"] == slices


async def test_groups_are_capped_and_say_so(sim: SimFactory, store: Store, tmp_path: Path) -> None:
    path = dataset(tmp_path)
    result = await sliced_run(sim, store, path, "lang")  # 120 distinct values
    slices = result.summary.to_json()["slices"]
    assert slices["capped"] is True
    assert len(slices["groups"]) == MAX_GROUPS + 1
    assert slices["groups"]["(other)"]["samples"] == 120 - MAX_GROUPS
    assert sum(g["samples"] for g in slices["groups"].values()) == 120


def test_cli_by_json_reports_and_bad_field(tmp_path: Path) -> None:
    path = dataset(tmp_path, 40)
    db = str(tmp_path / "runs.sqlite")
    runner = CliRunner()
    args = ["run", "--sim", "--dataset", str(path), "--store", db, "--no-progress"]
    bad = runner.invoke(cli, [*args, "--by", "language", "--json"])
    assert bad.exit_code == 2
    assert "by: no sample of" in bad.output and "'language'" in bad.output
    assert "adversarial, lang" in bad.output  # names the keys it has
    out = runner.invoke(cli, [*args, "--by", "adversarial", "--json"])
    assert out.exit_code == 0, out.output
    data = orjson.loads(out.stdout)
    assert set(data["slices"]["groups"]) == {"true", "false", "(missing)"}
    text = runner.invoke(cli, [*args, "--by", "adversarial"])
    assert text.exit_code == 0
    assert "by adversarial" in text.output and "(missing)" in text.output
    md = runner.invoke(cli, ["report", data["run_id"], "--format", "markdown", "--store", db])
    assert md.exit_code == 0
    g = data["slices"]["groups"]["true"]
    assert "**By adversarial**" in md.stdout
    assert f"| true | {g['samples']} | " in md.stdout


def test_by_is_validated_as_config() -> None:
    with pytest.raises(ConfigError):
        build_run_config({"dataset": "x", "by": ""})
