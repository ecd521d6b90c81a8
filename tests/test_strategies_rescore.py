"""``bench rescore``: re-parsing stored answers reproduces a run, or shows a format change,
without a request (the simulated server is gone by the time it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.config import build_run_config
from policybench.service.errors import InputError
from policybench.service.rescoring import rescore
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory, served_models


async def _stored_run(sim: SimFactory, store: Store, **cfg: Any) -> str:
    async with sim(error_rate=0.25, seed=11, also_serves=served_models(cfg)) as (url, _app):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "backend": "simulated", **cfg}
        )
        result = await Run(prepare(config), store).execute()
    return result.run_id


@pytest.mark.parametrize(
    "cfg",
    [
        {"strategy": "multi"},
        {"strategy": "gauntlet"},
        {"strategy": "ensemble", "ensemble_members": ("multi", "gauntlet", "multi@llama-guard-3")},
    ],
)
async def test_rescore_with_unchanged_parsers_reproduces_the_summary_exactly(
    sim: SimFactory, store: Store, cfg: dict[str, Any]
) -> None:
    run_id = await _stored_run(sim, store, **cfg)
    before = list(store.iter_records(run_id))
    result = rescore(store, run_id)
    assert result.samples == 90 and result.changed == 0
    assert result.summary == store.get_run(run_id).summary
    assert result.same_summary
    assert 0 < result.summary.multi_policy_accuracy.successes < 90  # errors were made
    # the run's own records are untouched; the new verdicts are stored beside them
    assert list(store.iter_records(run_id)) == before
    new = list(store.iter_rescore_records(result.rescore_id))
    assert [r["sample_id"] for r in new] == [r["sample_id"] for r in before]
    assert [r["predicted"] for r in new] == [r["predicted"] for r in before]
    listed = store.list_rescores(run_id)
    assert [r["rescore_id"] for r in listed] == [result.rescore_id]
    assert listed[0]["summary"] == result.summary


async def test_rescore_in_another_format_changes_the_summary(sim: SimFactory, store: Store) -> None:
    run_id = await _stored_run(sim, store, strategy="gauntlet")
    result = rescore(store, run_id, output_format="violation_safe")
    assert result.changed == 90
    assert result.summary.parse_failures == 90
    assert result.summary.multi_policy_accuracy.successes == 0
    assert not result.same_summary
    # and the run's own summary is what it was
    assert store.get_run(run_id).summary.parse_failures == 0


async def test_rescore_cli_json_and_exit_codes(sim: SimFactory, tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite"
    with Store(db) as store:
        run_id = await _stored_run(sim, store, strategy="multi", limit=30)
    runner = CliRunner()
    out = runner.invoke(cli, ["rescore", run_id, "--store", str(db), "--json"])
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    assert doc["run_id"] == run_id and doc["changed"] == 0 and doc["same_summary"] is True
    assert doc["summary"]["completed"] == 30
    bad = runner.invoke(cli, ["rescore", run_id, "--store", str(db), "--output-format", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.stderr
    missing = runner.invoke(cli, ["rescore", "no-such-run", "--store", str(db)])
    assert missing.exit_code == 2


async def test_rescore_needs_the_runs_policy_set(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "pol"
    folder.mkdir()
    for name in ("violence", "illegal"):
        (folder / f"{name}.md").write_text(f"---\ncategory: {name}\n---\nJudge {name}.\n")
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "text": "hello", "labels": []}\n')
    async with sim(datasets=[data]) as (url, _app):
        config = build_run_config({"dataset": str(data), "policies": str(folder), "base_url": url})
        run_id = (await Run(prepare(config), store).execute()).run_id
    (folder / "violence.md").unlink()
    (folder / "illegal.md").unlink()
    with pytest.raises(InputError):
        rescore(store, run_id)
