"""``bench perf scores``: what reading the verdict from the first token's logprobs saves.

ShieldGemma's prompt asks for "Yes" or "No" and then a step-by-step explanation; with
``--scores logprobs`` the verdict and its probability are in the first token, so
``max_tokens`` drops to 1 and the explanation is never generated.  Both modes run the
same native-format gauntlet (one request per policy) against the same simulated server
(a Llama-Guard-class profile, its decode steps at ``time_scale``), alternating for
``rounds`` rounds; medians are reported side by side, with their ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path
from typing import Any

from policybench.bench.sim import SimConfig, serve_in_background
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .datagen import write_dataset

PROFILE = "llama-guard-3-8b-rtx4090"
MODEL = "google/shieldgemma-9b"


async def _one(
    url: str, dataset: Path, store: Store, scores: str, concurrency: int
) -> dict[str, Any]:
    config = build_run_config(
        {
            "dataset": str(dataset),
            "base_url": url,
            "model": MODEL,
            "prompt_format": "shieldgemma",
            "scores": scores,
            "max_tokens": 2048,
            "concurrency": concurrency,
            "backend": "simulated",
        }
    )
    result = await Run(prepare(config), store).execute()
    s = result.summary.to_json()  # the --json view
    seconds = s["dispatch_seconds"]
    return {
        "requests_per_s": s["requests"] / seconds,
        "samples_per_s": s["completed"] / seconds,
        "completion_tokens_per_request": s["tokens"]["completion"] / s["requests"],
        "binary_accuracy": s["binary_accuracy"]["value"],
        "auprc": (s.get("scores") or {}).get("auprc"),
    }


def run_scores_bench(
    samples: int, concurrency: int, rounds: int, time_scale: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        dataset = write_dataset(tmpdir / "scores.jsonl", samples)
        sim = SimConfig(
            datasets=(str(dataset),), profile=PROFILE, time_scale=time_scale, error_rate=0.1
        )

        async def go() -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {"text": [], "logprobs": []}
            async with serve_in_background(sim) as (url, _app):
                with Store(tmpdir / "scores.sqlite") as store:
                    for _ in range(rounds):
                        out["text"].append(await _one(url, dataset, store, "none", concurrency))
                        out["logprobs"].append(
                            await _one(url, dataset, store, "logprobs", concurrency)
                        )
            return out

        runs = asyncio.run(go())

    def median(mode: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[mode]))

    text_rps, lp_rps = median("text", "requests_per_s"), median("logprobs", "requests_per_s")
    return {
        "format": "shieldgemma (gauntlet: one request per policy)",
        "profile": PROFILE,
        "samples": samples,
        "concurrency": concurrency,
        "rounds": rounds,
        "time_scale": time_scale,
        "text_requests_per_s": text_rps,
        "logprobs_requests_per_s": lp_rps,
        "logprobs_to_text_throughput_ratio": lp_rps / text_rps,
        "text_completion_tokens_per_request": median("text", "completion_tokens_per_request"),
        "logprobs_completion_tokens_per_request": median(
            "logprobs", "completion_tokens_per_request"
        ),
        "text_binary_accuracy": median("text", "binary_accuracy"),
        "logprobs_binary_accuracy": median("logprobs", "binary_accuracy"),
        "logprobs_auprc": median("logprobs", "auprc"),
    }
