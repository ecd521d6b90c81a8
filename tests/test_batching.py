"""Batched prompts against the simulated server: both batch routes, fallback, partial failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from policybench.bench.sim.app import STATS
from policybench.bench.sim.faults import FaultConfig
from policybench.service.chat_templates import load_chat_template
from policybench.service.config import build_run_config
from policybench.service.errors import ConfigError
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory


async def _run(
    sim: SimFactory, store: Store, sim_kwargs: dict[str, Any], **cfg: Any
) -> tuple[dict[str, Any], Any]:
    async with sim(error_rate=0.0, **sim_kwargs) as (url, app):
        config = build_run_config(
            {"dataset": str(BALANCED), "base_url": url, "concurrency": 64, **cfg}
        )
        result = await Run(prepare(config), store).execute()
        return result.summary, app[STATS]


@pytest.mark.parametrize("endpoint", ["chat-batch", "completions"])
@pytest.mark.parametrize("strategy", ["multi", "gauntlet"])
async def test_batched_run_scores_like_an_unbatched_one(
    sim: SimFactory, store: Store, endpoint: str, strategy: str
) -> None:
    summary, stats = await _run(
        sim, store, {}, batch_size=16, batch_endpoint=endpoint, strategy=strategy
    )
    requests = 90 * (6 if strategy == "gauntlet" else 1)
    assert summary.completed == 90 and summary.errors == 0 and summary.parse_failures == 0
    assert summary.multi_policy_accuracy.value == 1.0
    assert stats.requests == requests  # every conversation answered once
    assert stats.batches < requests / 4  # ... in far fewer HTTP requests
    assert summary.tokens.prompt > 0


async def test_auto_falls_back_to_completions_without_the_batch_route(
    sim: SimFactory, store: Store
) -> None:
    summary, stats = await _run(sim, store, {"batch_chat_route": False}, batch_size=8)
    assert summary.completed == 90 and summary.errors == 0
    assert summary.multi_policy_accuracy.value == 1.0
    assert stats.batches >= 90 / 8


async def test_a_partial_batch_failure_retries_only_what_failed(
    sim: SimFactory, store: Store
) -> None:
    faults = FaultConfig(rates=(("empty", 0.3),))
    summary, stats = await _run(
        sim, store, {"faults": faults}, batch_size=8, batch_endpoint="chat-batch"
    )
    assert summary.completed == 90 and summary.errors == 0
    assert summary.multi_policy_accuracy.value == 1.0
    # some choices went missing and were re-sent, but far fewer than if whole batches were
    resent = stats.requests - 90
    assert resent > 0
    assert resent < 90


def test_harmony_output_is_split_into_answer_and_reasoning() -> None:
    t = load_chat_template("harmony")
    text = '<|channel|>analysis<|message|>It asks {"violations": ["x"]}<|end|><|start|>assistant<|channel|>final<|message|>{"violations": []}<|return|>'
    assert t.split_output(text) == ('{"violations": []}', 'It asks {"violations": ["x"]}')
    assert t.split_output("<|channel|>analysis<|message|>thinking and cut off")[0] is None
    rendered = t.render("POLICY", "CONTENT", "high")
    assert "Reasoning: high" in rendered and "# Instructions\n\nPOLICY" in rendered
    assert rendered.endswith("<|start|>assistant")


def test_a_bad_chat_template_is_refused_by_prepare(tmp_path: Path) -> None:
    # prepare reads every input, so a bad template is exit 2 before a run row exists
    config = build_run_config(
        {
            "dataset": str(BALANCED),
            "batch_size": 4,
            "batch_endpoint": "completions",
            "chat_template": str(tmp_path / "missing.txt"),
        }
    )
    with pytest.raises(ConfigError, match="chat-template"):
        prepare(config)
    good = prepare(config.model_copy(update={"chat_template": "generic"}))
    assert good.chat_template is not None and good.chat_template.name == "generic"
