"""``--scores logprobs`` and a native prompt format against real vLLM (its CPU build).

The tiny model answers ``unsafe\\nS1`` greedily whatever the prompt (tests/realvllm.py), so
its first token is the unsafe reading: every P(unsafe) read from vLLM's real logprobs is
at least one half, on both routes (chat logprobs and text-completion logprobs), and the
native Llama Guard request (a raw prompt with its own BOS over ``/v1/completions``, with
``add_special_tokens: false``) is accepted by the real server.
"""

from __future__ import annotations

from typing import Any

import pytest
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED
from .realvllm import LLAMA_GUARD_UNSAFE, VllmPool

pytestmark = pytest.mark.vllm


async def _run(vllm: VllmPool, store: Store, **cfg: Any) -> tuple[dict[str, Any], list[Any]]:
    server = vllm.server(LLAMA_GUARD_UNSAFE)
    values = {
        "dataset": str(BALANCED),
        "base_url": server.base_url,
        "model": server.model,
        "scores": "logprobs",
        "limit": 8,
        "max_tokens": 8,
        "concurrency": 4,
        **cfg,
    }
    result = await Run(prepare(build_run_config(values)), store).execute()
    assert result.status == "success"
    return result.summary.to_json(), list(store.iter_records(result.run_id))


async def test_logprob_scores_from_real_vllm_chat_route(vllm: VllmPool, store: Store) -> None:
    summary, records = await _run(vllm, store, output_format="llama_guard3")
    assert summary["errors"] == 0 and summary["parse_failures"] == 0
    assert summary["scores"]["scored"] == 8
    assert all(0.5 <= r["score"] <= 1.0 for r in records)
    assert (
        summary["scores"]["operating_point"]["tp"] + summary["scores"]["operating_point"]["fp"] == 8
    )


async def test_native_llama_guard_prompt_is_accepted_over_completions(
    vllm: VllmPool, store: Store
) -> None:
    summary, records = await _run(vllm, store, prompt_format="llama_guard3")
    assert summary["errors"] == 0 and summary["parse_failures"] == 0
    # S1 is the first policy of the set as the native prompt lists it: hate_speech
    assert all(r["predicted"] == ["hate_speech"] for r in records)
    assert summary["scores"]["scored"] == 8
    assert all(0.5 <= r["score"] <= 1.0 for r in records)
