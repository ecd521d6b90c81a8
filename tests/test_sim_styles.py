"""Each answer style of the simulator, read by policybench's own parsers through a real run;
refusals, empty answers and cut-offs show up as parse failures at their configured rates."""

from __future__ import annotations

from typing import Any

import pytest
from policybench.bench.sim import STYLE_NAMES
from policybench.bench.sim.prompt_reading import read_question
from policybench.bench.sim.styles import choose_style
from policybench.service.config import build_run_config
from policybench.service.parsers import FORMATS
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory

# style -> (strategy, the parser format that reads it)
CASES = {
    "json": ("multi", "json"),
    "json-mixed": ("multi", "json"),
    "json-plain": ("multi", "json"),
    "json-rationale": ("multi", "json"),
    "json-fenced": ("multi", "json"),
    "json-text": ("multi", "json"),
    "binary": ("gauntlet", "binary"),
    "violation-safe": ("gauntlet", "violation_safe"),
    "valid-invalid": ("gauntlet", "valid_invalid"),
    "llamaguard": ("gauntlet", "llama_guard3"),
    "llamaguard-listed": ("multi", "llama_guard_policy"),
    "wildguard": ("gauntlet", "wildguard"),
    "guardreasoner": ("gauntlet", "guardreasoner"),
    "shieldgemma": ("gauntlet", "shieldgemma"),
    "shieldgemma-explained": ("gauntlet", "shieldgemma"),
    "qwen3guard": ("gauntlet", "qwen3guard"),
}


async def run(sim: SimFactory, store: Store, sim_kwargs: dict[str, Any], **cfg: Any) -> dict[str, Any]:  # fmt: skip
    async with sim(**sim_kwargs) as (url, _app):
        values = {"dataset": str(BALANCED), "base_url": url, "backend": "simulated", "concurrency": 32, **cfg}  # fmt: skip
        result = await Run(prepare(build_run_config(values)), store).execute()
    return result.summary


def test_every_style_has_a_case() -> None:
    assert set(CASES) == set(STYLE_NAMES) - {"auto"}


@pytest.mark.parametrize("style", sorted(CASES))
async def test_style_is_read_by_policybench_parsers(sim: SimFactory, store: Store, style: str) -> None:  # fmt: skip
    strategy, fmt = CASES[style]
    if fmt not in FORMATS:
        pytest.skip(f"no parser format {fmt!r} registered")
    s = await run(sim, store, {"style": style, "error_rate": 0.0}, strategy=strategy, output_format=fmt)  # fmt: skip
    assert s.completed == 90
    assert s.parse_failures == 0
    assert s.binary_accuracy.value == 1.0
    if style not in ("wildguard", "guardreasoner", "shieldgemma", "shieldgemma-explained", "binary", "violation-safe", "valid-invalid"):  # fmt: skip
        assert s.multi_policy_accuracy.value == 1.0


async def test_refusals_empties_and_cutoffs_are_parse_failures(sim: SimFactory, store: Store) -> None:  # fmt: skip
    rates = {"refusal_rate": 0.1, "empty_rate": 0.1, "truncate_rate": 0.1, "error_rate": 0.0}
    s = await run(sim, store, rates)
    # 30% of 90 answers misbehave on average; the draw is seeded, so this count is fixed
    assert 12 <= s.parse_failures <= 42
    assert s.errors == 0
    assert s.completed == 90
    clean = await run(sim, store, {"error_rate": 0.0})
    assert clean.parse_failures == 0


def test_style_choice_order() -> None:
    q = read_question('Answer. The ids are: violence. Use {"violations": []} if none.')
    assert choose_style("auto", "openai/gpt-oss-safeguard-20b", q) == "json"
    assert choose_style("auto", "meta-llama/Llama-Guard-3-8B", q) == "llamaguard"
    assert choose_style("binary", "meta-llama/Llama-Guard-3-8B", q) == "binary"
    q2 = read_question(
        "# Policy: Violence (`violence`)\n## Output format\nAnswer VIOLATION or SAFE."
    )
    assert q2.categories == ("violence",)
    assert choose_style("auto", "gpt-oss:20b", q2) == "violation-safe"
