"""``bench perf client``: the whole pipeline's ceiling against a bare aiohttp loop, same run.

Both hit the same zero-latency simulated server in a separate process.  Rounds alternate
(reference, pipeline, reference, ...) so drift on a shared machine hits both; the report
gives medians, the ratio, and the client's CPU time per sample.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from policybench.service.config import build_run_config
from policybench.service.datasets import iter_samples
from policybench.service.metrics import RunMetrics
from policybench.service.policies import load_policy_set
from policybench.service.prompts import multi_policy_prompt, user_content
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from prometheus_client import CollectorRegistry

from .datagen import write_dataset
from .server import sim_process


@dataclass
class Measure:
    items_per_s: float
    cpu_per_item_us: float


async def bare_loop(url: str, bodies: list[bytes], concurrency: int) -> Measure:
    """The reference: N workers posting prebuilt bodies, reading and decoding the answer."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    it = iter(bodies)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in it:
                async with session.post(
                    url + "/chat/completions",
                    data=body,
                    headers={"Content-Type": "application/json"},
                ) as r:
                    orjson.loads(await r.read())

        cpu0, t0 = time.process_time(), time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for _ in range(concurrency):
                tg.create_task(worker())
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return Measure(len(bodies) / wall, cpu / len(bodies) * 1e6)


def _mode(name: str) -> tuple[str, int, bool]:
    """``STRATEGY[-batchB][-metrics]`` -> (strategy, batch size, Prometheus metrics on)."""
    strategy, *options = name.split("-")
    batch = next((int(o[5:]) for o in options if o.startswith("batch")), 1)
    return strategy, batch, "metrics" in options


async def pipeline(url: str, dataset: Path, store: Store, mode: str, concurrency: int) -> Measure:
    strategy, batch_size, metrics = _mode(mode)
    config = build_run_config(
        {
            "dataset": str(dataset),
            "base_url": url,
            "strategy": strategy,
            "concurrency": concurrency,
            "model": "sim-guard",
            "batch_size": batch_size,
        }
    )
    prepared = prepare(config)
    cpu0, t0 = time.process_time(), time.perf_counter()
    observer = RunMetrics(CollectorRegistry()).observer() if metrics else None
    result = await Run(prepared, store, observer=observer).execute()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    n = result.summary.completed
    return Measure(n / wall, cpu / n * 1e6)


def run_client_bench(
    samples: int, concurrency: int, rounds: int, strategies: list[str]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        dataset = write_dataset(tmpdir / "perf.jsonl", samples)
        system = multi_policy_prompt(load_policy_set("minimal"))
        bodies = [
            orjson.dumps(
                {
                    "model": "sim-guard",
                    "max_tokens": 2048,
                    "temperature": 0.0,
                    "messages": [
                        {"role": "system", "content": system},
                        {"role": "user", "content": user_content(s)},
                    ],
                }
            )
            for s in iter_samples(dataset)
        ]
        with sim_process([dataset]) as url:
            return asyncio.run(
                _rounds(url, dataset, tmpdir, bodies, concurrency, rounds, strategies)
            )


async def _rounds(
    url: str,
    dataset: Path,
    tmpdir: Path,
    bodies: list[bytes],
    concurrency: int,
    rounds: int,
    strategies: list[str],
) -> dict[str, Any]:
    ref: list[Measure] = []
    got: dict[str, list[Measure]] = {s: [] for s in strategies}
    await bare_loop(url, bodies[: min(500, len(bodies))], concurrency)  # warm-up
    with Store(tmpdir / "perf.sqlite") as store:
        for _ in range(rounds):
            ref.append(await bare_loop(url, bodies, concurrency))
            for strategy in strategies:
                got[strategy].append(await pipeline(url, dataset, store, strategy, concurrency))
    ref_rps = statistics.median(m.items_per_s for m in ref)
    out: dict[str, Any] = {
        "samples": len(bodies),
        "concurrency": concurrency,
        "rounds": rounds,
        "reference_requests_per_s": ref_rps,
        "reference_cpu_us_per_request": statistics.median(m.cpu_per_item_us for m in ref),
    }
    for mode, ms in got.items():
        strategy, batch_size, _metrics = _mode(mode)
        sps = statistics.median(m.items_per_s for m in ms)
        out[f"{mode}_samples_per_s"] = sps
        out[f"{mode}_cpu_us_per_sample"] = statistics.median(m.cpu_per_item_us for m in ms)
        conversations = sps * (6 if strategy == "gauntlet" else 1)
        if batch_size == 1:  # requests through the whole pipeline / bare requests
            out[f"{mode}_requests_per_s"] = conversations
            out[f"{mode}_ratio_to_reference"] = conversations / ref_rps
        else:  # conversations classified per second / bare single-conversation requests
            out[f"{mode}_conversations_per_s"] = conversations
            out[f"{mode}_conversations_ratio_to_reference"] = conversations / ref_rps
    return out
