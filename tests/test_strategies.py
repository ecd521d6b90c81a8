"""Each strategy end to end against the simulated server, and the ensemble vote rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from policybench.service.config import build_run_config
from policybench.service.errors import InputError
from policybench.service.parsers import Verdict
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from policybench.service.strategies.ensemble import vote

from .conftest import BALANCED, SimFactory, served_models

SIX = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")


async def _run(
    sim: SimFactory, store: Store, sim_kwargs: dict[str, Any] | None = None, **cfg: Any
) -> Any:
    kwargs = dict(sim_kwargs or {"error_rate": 0.0})
    kwargs.setdefault("also_serves", served_models(cfg))
    async with sim(**kwargs) as (url, _app):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "backend": "simulated", **cfg}
        )
        return await Run(prepare(config), store).execute()


@pytest.mark.parametrize(("strategy", "requests"), [("multi", 1), ("gauntlet", 6)])
async def test_strategy_records_its_requests_per_sample(
    sim: SimFactory, store: Store, strategy: str, requests: int
) -> None:
    result = await _run(sim, store, strategy=strategy, limit=10)
    assert result.summary.multi_policy_accuracy.value == 1.0
    records = list(store.iter_records(result.run_id))
    assert len(records) == 10
    for record in records:
        assert len(record["parts"]) == requests
        if strategy == "gauntlet":
            assert [p["key"] for p in record["parts"]] == list(SIX)
            # the per-policy answers are kept, and their union is the verdict
            union = set().union(*(p["verdict"] for p in record["parts"]))
            assert union == set(record["predicted"])


async def test_gauntlet_sends_a_samples_requests_concurrently(
    sim: SimFactory, store: Store
) -> None:
    # Every request takes at least 0.15 s at the server (3 s overhead x 0.05 time scale); sent one after another, a
    # sample would take at least the sum of its six parts' latencies.
    result = await _run(
        sim,
        store,
        sim_kwargs={
            "error_rate": 0.0,
            "time_scale": 0.05,
            "base_latency": 3.0,
            "reasoning_tokens": 0,
        },
        strategy="gauntlet",
        limit=2,
        concurrency=6,
    )
    records = list(store.iter_records(result.run_id))
    assert len(records) == 2
    for record in records:
        parts = [p["latency"] for p in record["parts"]]
        assert len(parts) == 6 and min(parts) >= 0.15
        # about one request's latency, not six: far below the serial sum
        assert record["latency"] < sum(parts) / 2
        assert record["latency"] >= max(parts)


async def test_ensemble_of_strategies_keeps_each_members_verdict(
    sim: SimFactory, store: Store
) -> None:
    result = await _run(
        sim,
        store,
        strategy="ensemble",
        ensemble_members=("multi", "gauntlet", "multi+cot"),
        limit=12,
    )
    assert result.summary.strategy == "ensemble"
    assert result.summary.multi_policy_accuracy.value == 1.0
    for record in store.iter_records(result.run_id):
        assert len(record["parts"]) == 1 + 6 + 1
        assert [m["member"] for m in record["members"]] == ["multi", "gauntlet", "multi+cot"]
        for member in record["members"]:
            assert member["predicted"] == record["predicted"]


async def test_ensemble_across_models_sends_each_member_to_its_model(
    sim: SimFactory, store: Store
) -> None:
    # The simulator answers a model named like Llama Guard in Llama Guard's format: a
    # clean parse of that member shows the model override reached the server, and
    # that the member was parsed in its family's format.
    result = await _run(
        sim,
        store,
        strategy="ensemble",
        ensemble_members=("multi", "multi@Llama-Guard-3-8B"),
        vote="all",
        limit=20,
    )
    assert result.summary.parse_failures == 0
    assert result.summary.multi_policy_accuracy.value == 1.0
    records = list(store.iter_records(result.run_id))
    guard_answers = [r["parts"][1]["content"] for r in records]
    assert any(a.startswith("unsafe") for a in guard_answers)
    assert all(a.split("\n")[0] in ("safe", "unsafe") for a in guard_answers)


async def test_identical_members_vote_as_one_member(sim: SimFactory, store: Store) -> None:
    # The simulator's mistakes are seeded per question, so three identical members make
    # the same mistakes, and a majority of them scores exactly as one member does.
    single = await _run(sim, store, sim_kwargs={"error_rate": 0.2, "seed": 3}, strategy="multi")
    ensemble = await _run(
        sim,
        store,
        sim_kwargs={"error_rate": 0.2, "seed": 3},
        strategy="ensemble",
        ensemble_members=("multi", "multi", "multi"),
        vote="majority",
    )
    # identical members agree with each other and so with the single run
    assert (
        ensemble.summary.multi_policy_accuracy.successes
        == single.summary.multi_policy_accuracy.successes
    )


def test_bad_ensemble_members_are_input_errors() -> None:
    for members in (("multi", "foo"), ("multi", "gauntlet+turbo"), ("multi", "multi@")):
        config = build_run_config(
            {"dataset": str(BALANCED), "strategy": "ensemble", "ensemble_members": members}
        )
        with pytest.raises(InputError, match="ensemble-members"):
            prepare(config)


def test_policy_output_front_matter_decides_the_parse_format(tmp_path: Path) -> None:
    for name in ("violence", "illegal"):
        (tmp_path / f"{name}.md").write_text(
            f"---\ncategory: {name}\noutput: violation_safe\n---\n## Instructions\nJudge {name}.\n"
        )
    config = build_run_config(
        {"dataset": str(BALANCED), "policies": str(tmp_path), "strategy": "gauntlet"}
    )
    assert {s.fmt for s in prepare_plan(config)} == {"violation_safe"}
    # a model family overrides what the policy asks, and --output-format overrides both
    guard = config.model_copy(update={"model": "meta-llama/Llama-Guard-4-12B"})
    assert {s.fmt for s in prepare_plan(guard)} == {"llama_guard4"}
    forced = guard.model_copy(update={"output_format": "binary"})
    assert {s.fmt for s in prepare_plan(forced)} == {"binary"}
    # a format no parser knows names the policy file
    (tmp_path / "illegal.md").write_text(
        "---\ncategory: illegal\noutput: smoke_signals\n---\nJudge.\n"
    )
    with pytest.raises(InputError, match=r"illegal\.md.*smoke_signals"):
        prepare_plan(config)
    # one request carrying every policy needs one format
    (tmp_path / "illegal.md").write_text("---\ncategory: illegal\noutput: json\n---\nJudge.\n")
    with pytest.raises(InputError, match="one format"):
        prepare_plan(config.model_copy(update={"strategy": "multi"}))


def prepare_plan(config: Any) -> Any:
    from policybench.service.policies import load_policy_set
    from policybench.service.strategies import from_config

    return from_config(config, load_policy_set(config.policies)).plan()


def _v(*cats: str) -> Verdict:
    return Verdict(frozenset(cats))


FAIL = Verdict.fail("no label")


@pytest.mark.parametrize(
    ("members", "threshold", "expected"),
    [
        ([_v("violence"), _v("violence"), _v()], 2, {"violence"}),  # majority of 3
        ([_v("violence"), _v(), _v()], 2, set()),
        ([_v("violence"), _v("illegal"), _v()], 1, {"violence", "illegal"}),  # any
        ([_v("violence", "illegal"), _v("violence")], 2, {"violence"}),  # all of 2
        ([_v("violence"), _v("violence"), FAIL], 2, {"violence"}),  # the failure cannot matter
        ([_v(), _v(), FAIL], 2, set()),
        ([_v("violence"), _v(), FAIL], 2, None),  # it would decide: undecided
        ([_v("violence"), FAIL], 1, None),  # any: the failed one might flag more
        ([_v(), FAIL], 2, set()),  # all: nothing can reach unanimity
        ([FAIL, FAIL], 1, None),
    ],
)
def test_vote_tolerates_a_failed_member_only_where_it_cannot_change_the_result(
    members: list[Verdict], threshold: int, expected: set[str] | None
) -> None:
    labelled = tuple((f"m{i}", v) for i, v in enumerate(members))
    verdict = vote(labelled, threshold, "test")
    assert verdict.members == labelled
    if expected is None:
        assert verdict.categories is None and verdict.reason
    else:
        assert verdict.categories == frozenset(expected)
