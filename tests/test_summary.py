"""The typed run summary: old stored summaries load, --json keys stay as they were, and a
live run declares every figure it writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from policybench.service.summary import SUMMARY_VERSION, CategoryFigures, Interval, RunSummary
from pydantic import ValidationError

from .conftest import BALANCED, SimFactory

#: A summary as `bench run --json` wrote it before the model (version 1, no version key):
#: a streamed run with --concurrency auto, so every optional figure is present.
V1 = Path(__file__).parent / "fixtures" / "summary_v1.json"


def _v1() -> dict[str, object]:
    data = json.loads(V1.read_text())
    assert isinstance(data, dict) and "summary_version" not in data
    return data


def test_a_version_1_summary_loads_typed_and_keeps_its_keys() -> None:
    old = _v1()
    summary = RunSummary.load(old)
    assert summary.summary_version == SUMMARY_VERSION
    assert isinstance(summary.multi_policy_accuracy, Interval)
    assert isinstance(summary.per_category["violence"], CategoryFigures)
    assert (
        summary.ttft_seconds is not None and summary.ttft_seconds.p50 == old["ttft_seconds"]["p50"]
    )  # type: ignore[index]
    assert summary.concurrency == "auto" and summary.concurrency_limit_history
    assert summary.model_extra == {}  # every stored key is a declared field
    again = summary.to_json()
    assert list(again) == [*old, "summary_version"]  # same keys, same order, plus the version
    assert {k: v for k, v in again.items() if k != "summary_version"} == old


def test_a_version_1_summary_in_a_store_is_read_as_the_model(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    with Store(db) as store:
        store.create_run(
            run_id="r1",
            config={"dataset": "balanced"},
            dataset="balanced",
            dataset_fingerprint="f",
            samples_total=12,
            policy_set="minimal",
            policy_hash="h",
            model="m",
            strategy="multi",
            backend="simulated",
            version="0.1.0",
            git_rev=None,
        )
    with sqlite3.connect(db) as raw:  # as an older policybench stored it
        raw.execute("UPDATE runs SET summary=? WHERE run_id='r1'", (V1.read_text(),))
    with Store(db) as store:
        summary = store.get_run("r1").summary
    assert isinstance(summary, RunSummary)
    assert summary.completed == _v1()["completed"]


def test_a_summary_is_frozen_and_checked() -> None:
    summary = RunSummary.load(_v1())
    with pytest.raises(ValidationError):
        summary.completed = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        RunSummary.load({**_v1(), "completed": "many"})
    assert summary.updated(status="cancelled").status == "cancelled"
    assert summary.status == "success"


def test_unknown_keys_of_a_newer_version_are_kept() -> None:
    newer = {**_v1(), "summary_version": SUMMARY_VERSION + 1, "something_new": [1, 2]}
    summary = RunSummary.load(newer)
    assert summary.to_json()["something_new"] == [1, 2]


async def test_a_live_run_writes_only_declared_figures(sim: SimFactory, store: Store) -> None:
    async with sim(error_rate=0.2) as (url, _app):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "concurrency": "auto", "rate": 500.0}
        )
        result = await Run(prepare(config), store).execute()
    summary = result.summary
    assert summary.model_extra == {}
    for value in summary.__dict__.values():
        if hasattr(value, "model_extra"):
            assert value.model_extra == {}
    assert summary.rate == 500.0 and summary.concurrency_limit_history
    stored = store.get_run(result.run_id).summary
    assert stored == summary  # the store round-trips it exactly
    assert "batch_size" not in summary.to_json()  # a figure not set stays out of --json


def test_sim_settings_declare_every_simulator_setting() -> None:
    # a simulator setting a front end can store must be a SimSettings field
    from policybench.bench.sim.config import SETTING_KEYS
    from policybench.service.config import SimSettings

    assert set(SETTING_KEYS) <= set(SimSettings.model_fields)
