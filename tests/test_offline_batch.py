"""Offline batches: export a run's requests, answer them as ``vllm run-batch`` would, import."""

from __future__ import annotations

import random
from pathlib import Path

import aiohttp
import orjson
from policybench.service.config import build_run_config
from policybench.service.offline import OfflineAnswers, export_batch
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory


async def test_export_answer_import_round_trip(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    prepared = prepare(
        build_run_config(
            {"dataset": str(BALANCED), "strategy": "gauntlet", "backend": "offline-batch"}
        )
    )
    requests = tmp_path / "requests.jsonl"
    assert export_batch(prepared, requests) == 90 * 6
    lines = [orjson.loads(line) for line in requests.read_bytes().splitlines()]
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}

    # answer every request through a real server, as `vllm run-batch` would, in shuffled order
    out_lines = []
    async with sim(error_rate=0.0) as (url, _), aiohttp.ClientSession() as session:
        for line in lines:
            async with session.post(
                url.removesuffix("/v1") + line["url"], json=line["body"]
            ) as resp:
                body = await resp.json()
            out_lines.append(
                {
                    "id": "x",
                    "custom_id": line["custom_id"],
                    "response": {"status_code": 200, "request_id": "r", "body": body},
                    "error": None,
                }
            )
    random.Random(1).shuffle(out_lines)
    dropped = out_lines.pop()  # one request never answered
    failed = out_lines[0]
    failed["response"] = {"status_code": 400, "body": None}
    failed["error"] = {"message": "prompt too long"}
    results = tmp_path / "results.jsonl"
    results.write_bytes(b"\n".join(orjson.dumps(x) for x in out_lines) + b"\n")

    answers = OfflineAnswers(prepared, results)
    assert answers.missing == 1
    result = await Run(prepared, store, client=answers).execute()
    s = result.summary
    assert s.completed == 90  # every sample accounted for
    broken = {dropped["custom_id"].split(":")[2], failed["custom_id"].split(":")[2]}
    assert s.errors == len(broken)
    assert s.multi_policy_accuracy.successes == 90 - len(broken)
    assert s.samples_per_hour is None and s.backend == "offline-batch"
    # answers read from a file have no timings: n/a, not "1 ms / 0 ms"
    view = s.to_json()
    assert (
        view["latency_seconds"]
        == view["request_latency_seconds"]
        == dict.fromkeys(("p50", "p90", "p99"))
    )
    assert view["route"] == "offline-batch" and view["server"] is None
    errors = [r for r in store.iter_records(result.run_id) if r["outcome"] == "error"]
    assert {r["sample_id"] for r in errors} == broken
