"""``bench perf saturation``: how much of a simulated server's modelled capacity a run reaches.

The simulator's step model predicts its saturated throughput (:mod:`bench.sim.predict`);
this benchmark runs the full policybench pipeline at fixed concurrencies at and above the
knee (``max_num_seqs``) and with ``--concurrency auto``, measures the steady-state rate
(completions between the 20th and 80th percentile of the run, so ramp-up and tail do not
count) and reports measured / predicted.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from policybench.bench.sim import SimConfig, serve_in_background
from policybench.bench.sim.calibrate import _metric
from policybench.bench.sim.predict import predict
from policybench.service.config import build_run_config
from policybench.service.observer import BaseObserver
from policybench.service.records import RequestOutcome
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .datagen import write_dataset


class _Clock(BaseObserver):
    def __init__(self) -> None:
        self.done: list[float] = []

    def on_request(self, outcome: RequestOutcome) -> None:
        self.done.append(time.perf_counter())


def _steady_rate(times: list[float]) -> float:
    times = sorted(times)
    lo, hi = len(times) // 5, len(times) - len(times) // 5 - 1
    return (hi - lo) / (times[hi] - times[lo]) if times[hi] > times[lo] else float("inf")


async def _one(
    sim: SimConfig, dataset: Path, store: Store, concurrency: int | str
) -> dict[str, Any]:
    scale = sim.time_scale or 1.0
    async with serve_in_background(sim) as (url, _app):
        config = build_run_config(
            {
                "dataset": str(dataset),
                "base_url": url,
                "concurrency": concurrency,
                "model": sim.model,
                "max_tokens": 4096,
            }
        )
        clock = _Clock()
        result = await Run(prepare(config), store, observer=clock).execute()
        metrics = url.removesuffix("/v1") + "/metrics"
        async with aiohttp.ClientSession() as session:
            queries = await _metric(session, metrics, "vllm:prefix_cache_queries_total")
            hits = await _metric(session, metrics, "vllm:prefix_cache_hits_total")
    s = result.summary
    n = s.requests
    prompt = (s.tokens.prompt or 0) / n  # the simulator always reports usage
    output = (s.tokens.completion or 0) / n
    profile = sim.resolved_profile()
    capacity = predict(
        profile,
        profile.max_num_seqs * 4,
        prompt_tokens=prompt,
        computed_prompt_tokens=prompt * (1 - hits / queries) if queries else prompt,
        output_tokens=output,
    ).requests_per_second
    measured = _steady_rate(clock.done) * scale
    return {
        "concurrency": concurrency,
        "chosen_limit": s.concurrency_limit,
        "measured_requests_per_s": measured,
        "capacity_requests_per_s": capacity,
        "capacity_ratio": measured / capacity,
    }


def run_saturation_bench(
    profile: str, max_num_seqs: int, samples: int, time_scale: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        dataset = write_dataset(tmpdir / "sat.jsonl", samples)
        sim = SimConfig(
            datasets=(str(dataset),),
            profile=profile,
            max_num_seqs=max_num_seqs,
            time_scale=time_scale,
            error_rate=0.0,
        )

        async def go() -> list[dict[str, Any]]:
            with Store(tmpdir / "sat.sqlite") as store:
                return [
                    await _one(sim, dataset, store, c)
                    for c in (max_num_seqs, max_num_seqs * 2, "auto")
                ]

        rows = asyncio.run(go())
    out: dict[str, Any] = {
        "profile": profile,
        "max_num_seqs": max_num_seqs,
        "samples": samples,
        "time_scale": time_scale,
    }
    for row in rows:
        tag = f"c{row['concurrency']}"
        out[f"{tag}_measured_requests_per_s"] = row["measured_requests_per_s"]
        out[f"{tag}_capacity_ratio"] = row["capacity_ratio"]
        out[f"{tag}_chosen_limit"] = row["chosen_limit"]
    out["capacity_requests_per_s"] = rows[0]["capacity_requests_per_s"]
    best_fixed = max(rows[0]["measured_requests_per_s"], rows[1]["measured_requests_per_s"])
    out["auto_to_best_fixed_ratio"] = rows[2]["measured_requests_per_s"] / best_fixed
    return out
