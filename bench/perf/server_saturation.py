"""``bench perf saturation --base-url URL``: how much of a real server's best throughput a run
reaches, by the server's own counters.

Against a real server there is no model of its capacity to compare with, so the capacity
is measured: the same synthetic samples are run at the chosen concurrency, at two and four
times it, and with ``--concurrency auto``.  Each run's throughput is the change in the
server's ``vllm:request_success`` over the time between the run's first and last reading
of ``/metrics`` (:mod:`policybench.service.server_metrics`), so it counts what the server
finished, not what the client saw.  The best of them is the server's best measured
throughput; each run is reported as a share of it, side by side.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .datagen import write_dataset


async def _one(
    url: str,
    model: str,
    dataset: Path,
    store: Store,
    concurrency: int | str,
    max_tokens: int,
    api_key: str | None,
) -> dict[str, Any]:
    config = build_run_config(
        {
            "dataset": str(dataset),
            "base_url": url,
            "model": model,
            "concurrency": concurrency,
            "max_tokens": max_tokens,
            "max_error_rate": 1.0,  # measuring throughput: failures are reported, not fatal
        }
    )
    result = await Run(prepare(config), store, api_key=api_key).execute()
    s = result.summary.to_json()
    server = s.get("server")
    if not server or not server.get("requests") or not server.get("seconds"):
        raise RuntimeError(f"{url}: no vLLM request counters on its /metrics")
    return {
        "concurrency": concurrency,
        "chosen_limit": s["concurrency_limit"],
        "server_requests_per_s": server["requests"] / server["seconds"],
        "server_generation_tokens_per_s": (server["generation_tokens"] or 0) / server["seconds"],
        "errors": s["errors"],
    }


def run_server_saturation(
    base_url: str,
    model: str,
    concurrency: int,
    samples: int,
    max_tokens: int,
    api_key: str | None = None,
) -> dict[str, Any]:
    levels: list[int | str] = [concurrency, concurrency * 2, concurrency * 4, "auto"]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        dataset = write_dataset(tmpdir / "sat.jsonl", samples)

        async def go() -> list[dict[str, Any]]:
            with Store(tmpdir / "sat.sqlite") as store:
                return [
                    await _one(base_url, model, dataset, store, c, max_tokens, api_key)
                    for c in levels
                ]

        rows = asyncio.run(go())
    best = max(r["server_requests_per_s"] for r in rows)
    out: dict[str, Any] = {
        "base_url": base_url,
        "model": model,
        "samples": samples,
        "max_tokens": max_tokens,
        "best_server_requests_per_s": best,
    }
    for row in rows:
        tag = f"c{row['concurrency']}"
        out[f"{tag}_server_requests_per_s"] = row["server_requests_per_s"]
        out[f"{tag}_share_of_best"] = row["server_requests_per_s"] / best
        out[f"{tag}_chosen_limit"] = row["chosen_limit"]
        out[f"{tag}_errors"] = row["errors"]
    return out
