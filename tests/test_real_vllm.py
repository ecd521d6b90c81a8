"""``bench run`` against real vLLM (its CPU build) serving tiny fixed-answer models.

A model that always answers ``{"violations": []}`` gets exactly the safe samples right,
in every mode; one that always answers Llama Guard's ``unsafe\\nS1`` gets exactly the
samples labelled only ``violence`` right.  vLLM's own counters say how many requests and
tokens each run must have counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from .conftest import BALANCED
from .realvllm import LLAMA_GUARD_UNSAFE, SAFE_JSON, Metrics, VllmPool, VllmServer, bench

pytestmark = pytest.mark.vllm

N = 24  # samples per run: the first N of `balanced`


def head(n: int = N, dataset: Path = BALANCED) -> list[dict[str, Any]]:
    rows = [orjson.loads(line) for line in dataset.read_bytes().splitlines()[:n]]
    assert len(rows) == n
    return rows


def run(server: VllmServer, tmp_path: Path, *args: str, n: int = N) -> dict[str, Any]:
    out = bench(
        *("run", "--dataset", "balanced", "--limit", str(n), "--max-tokens", "64"),
        *("--base-url", server.base_url, "--model", server.model, "--concurrency", "8"),
        *("--json", "--no-progress", "--store", str(tmp_path / "runs.sqlite")),
        *args,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    summary: dict[str, Any] = orjson.loads(out.stdout)
    return summary


def assert_safe_answers_scored(s: dict[str, Any], n: int = N) -> None:
    """The summary of a run whose every answer was ``{"violations": []}``."""
    safe = sum(1 for r in head(n) if not r["labels"])
    assert 0 < safe < n
    assert s["status"] == "success"
    assert s["completed"] == s["samples"] == n
    assert s["errors"] == 0 and s["parse_failures"] == 0
    assert s["multi_policy_accuracy"]["successes"] == safe
    assert s["binary_accuracy"]["successes"] == safe
    assert s["false_positive_rate"] == 0.0 and s["false_negative_rate"] == 1.0


def assert_tokens_are_the_servers(
    s: dict[str, Any], server: VllmServer, before: Metrics, after: Metrics, requests: int
) -> None:
    """Token totals are vLLM's own counts; ``requests`` engine requests ended normally."""
    assert after.delta(before, "vllm:request_success_total", finished_reason="stop") == requests
    assert after.delta(before, "vllm:request_success_total") == requests
    assert s["tokens"]["prompt"] == after.delta(before, "vllm:prompt_tokens_total")
    assert s["tokens"]["completion"] == after.delta(before, "vllm:generation_tokens_total")
    assert s["tokens"]["completion"] == requests * server.answer_tokens


MODES = {
    "multi": ((), 1),
    "gauntlet": (("--strategy", "gauntlet"), 6),
    "chat-batch": (("--batch-size", "5", "--batch-endpoint", "chat-batch"), 1),
    "stream": (("--stream",), 1),
    "concurrency-auto": (("--concurrency", "auto"), 1),
    "rate": (("--rate", "40"), 1),
    "metrics-port": (("--metrics-port", "0", "--metrics-linger", "0"), 1),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_scores_exactly_what_the_fixed_answer_implies(
    vllm: VllmPool, tmp_path: Path, mode: str
) -> None:
    args, per_sample = MODES[mode]
    server = vllm.server(SAFE_JSON)
    before = server.metrics()
    s = run(server, tmp_path, *args)
    after = server.metrics()
    assert_safe_answers_scored(s)
    assert_tokens_are_the_servers(s, server, before, after, N * per_sample)
    if mode == "stream":
        assert s["ttft_seconds"]["p50"] > 0
    if mode == "concurrency-auto":
        assert s["concurrency_limit_history"][0] == 4


def test_completions_route_with_the_models_own_template_scores_the_same(
    vllm: VllmPool, tmp_path: Path
) -> None:
    server = vllm.server(SAFE_JSON)
    before = server.metrics()
    chat = run(server, tmp_path)
    middle = server.metrics()
    s = run(
        server,
        tmp_path,
        *("--batch-size", "5", "--batch-endpoint", "completions"),
        *("--chat-template", str(server.completion_template)),
    )
    after = server.metrics()
    assert_safe_answers_scored(s)
    assert_tokens_are_the_servers(s, server, middle, after, N)
    # the client rendered exactly what vLLM's chat template renders: the same prompts
    assert s["tokens"]["prompt"] == middle.delta(before, "vllm:prompt_tokens_total")
    assert chat["tokens"] == s["tokens"]


def test_ensemble_of_two_served_names_votes_on_real_answers(vllm: VllmPool, tmp_path: Path) -> None:
    server = vllm.server(SAFE_JSON, names=("tiny-a", "tiny-b"))
    before = server.metrics()
    s = run(
        server,
        tmp_path,
        *("--strategy", "ensemble", "--ensemble-members", "multi@tiny-a,gauntlet@tiny-b"),
    )
    after = server.metrics()
    assert_safe_answers_scored(s)
    assert_tokens_are_the_servers(s, server, before, after, N * (1 + 6))


def test_two_base_urls_share_the_requests_and_the_tokens_add_up(
    vllm: VllmPool, tmp_path: Path
) -> None:
    one = vllm.server(SAFE_JSON)
    two = vllm.server(SAFE_JSON, replica=1)
    before = (one.metrics(), two.metrics())
    s = run(one, tmp_path, "--base-url", two.base_url)
    after = (one.metrics(), two.metrics())
    assert_safe_answers_scored(s)
    served = [a.delta(b, "vllm:request_success_total") for a, b in zip(after, before, strict=True)]
    assert sum(served) == N and min(served) > 0  # least-outstanding routing used both
    for kind, metric in (("prompt", "prompt_tokens"), ("completion", "generation_tokens")):
        counted = sum(
            a.delta(b, f"vllm:{metric}_total") for a, b in zip(after, before, strict=True)
        )
        assert s["tokens"][kind] == counted


def test_llama_guard_answers_are_parsed_into_exact_verdicts(vllm: VllmPool, tmp_path: Path) -> None:
    server = vllm.server(LLAMA_GUARD_UNSAFE)
    before = server.metrics()
    s = run(server, tmp_path, "--output-format", "llama_guard")
    after = server.metrics()
    rows = head()
    only_violence = sum(1 for r in rows if r["labels"] == ["violence"])
    unsafe = sum(1 for r in rows if r["labels"])
    assert 0 < only_violence < unsafe < N
    assert s["status"] == "success" and s["parse_failures"] == 0 and s["errors"] == 0
    assert s["multi_policy_accuracy"]["successes"] == only_violence  # S1 is violence
    assert s["binary_accuracy"]["successes"] == unsafe
    assert s["false_positive_rate"] == 1.0 and s["false_negative_rate"] == 0.0
    assert s["per_category"]["violence"]["recall"] == 1.0
    assert_tokens_are_the_servers(s, server, before, after, N)
