"""The prompt asks for the format its answers are parsed in (policy ``output:`` or --output-format)."""

from __future__ import annotations

from pathlib import Path

import pytest
from policybench.service.config import build_run_config
from policybench.service.policies import load_policy_set
from policybench.service.prompts import single_policy_prompt
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory


def test_the_output_section_follows_the_format() -> None:
    policy = load_policy_set("minimal").get("violence")
    json_prompt = single_policy_prompt(policy)
    assert '"policy_category": "violence"' in json_prompt
    words = single_policy_prompt(policy, fmt="violation_safe")
    assert (
        "VIOLATION if the content violates this policy, SAFE" in words
        and "{" not in words.split("## Output format")[1]
    )
    digits = single_policy_prompt(policy, fmt="binary")
    assert "0 if the content does not violate this policy, 1 if it does" in digits
    # a guard model's own format: no instructions the model would not follow anyway
    assert "## Output format" not in single_policy_prompt(policy, fmt="llama_guard3")


@pytest.mark.parametrize("fmt", ["binary", "violation_safe", "valid_invalid"])
async def test_runs_in_each_asked_format_score_fully(
    sim: SimFactory, store: Store, fmt: str
) -> None:
    async with sim(error_rate=0.0) as (url, _):
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": url,
                "strategy": "gauntlet",
                "output_format": fmt,
            }
        )
        prepared = prepare(config)
        assert {spec.fmt for spec in prepared.strategy.plan()} == {fmt}
        result = await Run(prepared, store).execute()
    s = result.summary
    assert s.parse_failures == 0 and s.multi_policy_accuracy.value == 1.0
    record = next(iter(store.iter_records(result.run_id)))
    assert not record["parts"][0]["content"].lstrip().startswith("{")  # it answered as asked


async def test_a_policy_folder_declaring_its_format(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    shipped = load_policy_set("minimal")
    for policy in shipped.policies:
        (tmp_path / f"{policy.category}.md").write_text(
            f"---\ncategory: {policy.category}\ntitle: {policy.title}\noutput: violation_safe\n---\n{policy.body}\n"
        )
    async with sim(error_rate=0.0) as (url, _):
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": url,
                "strategy": "gauntlet",
                "policies": str(tmp_path),
            }
        )
        result = await Run(prepare(config), store).execute()
    assert result.summary.multi_policy_accuracy.value == 1.0
    record = next(iter(store.iter_records(result.run_id)))
    assert record["parts"][0]["content"].strip() in ("VIOLATION", "SAFE")
