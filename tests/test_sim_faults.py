"""The real client (prepare + Run) against the simulated server with injected faults:
retried faults recover, the others become error records, and every sample is accounted for."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from policybench.bench.sim import FaultConfig, FaultSpecError, parse_faults
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory

LIMIT = 30


async def run_with_faults(
    sim: SimFactory, store: Store, faults: FaultConfig, **cfg: Any
) -> dict[str, Any]:
    async with sim(error_rate=0.0, faults=faults, seed=3) as (url, app):
        values = {
            "dataset": str(BALANCED),
            "base_url": url,
            "backend": "simulated",
            "limit": LIMIT,
            "concurrency": 16,
            "max_attempts": 8,
            "timeout": 0.5,
            **cfg,
        }
        result = await Run(prepare(build_run_config(values)), store).execute()
        from policybench.bench.sim.app import FAULTS

        counts = app[FAULTS].counts
    summary = result.summary.to_json()  # the --json view of the summary
    summary["_fault_counts"] = counts
    summary["_records"] = list(store.iter_records(result.run_id))
    return summary


@pytest.mark.parametrize("kind", ["500", "503", "429", "hang", "drop", "malformed", "empty"])
async def test_retried_faults_recover(sim: SimFactory, store: Store, kind: str) -> None:
    faults = FaultConfig(rates=((kind, 0.3),), retry_after=0.0)
    s = await run_with_faults(sim, store, faults)
    assert s["_fault_counts"][kind] > 0, "the fault was injected"
    assert s["completed"] == s["samples"] == LIMIT
    assert s["errors"] == 0
    assert s["multi_policy_accuracy"]["value"] == 1.0
    assert len(s["_records"]) == LIMIT


async def test_slow_fault_still_answers(sim: SimFactory, store: Store) -> None:
    faults = FaultConfig(rates=(("slow", 0.5),), slow_seconds=0.05)
    s = await run_with_faults(sim, store, faults)
    assert s["_fault_counts"]["slow"] > 0
    assert s["completed"] == LIMIT and s["errors"] == 0


async def test_non_retried_fault_becomes_error_records(sim: SimFactory, store: Store) -> None:
    # with the error budget off every sample is tried, and each is an error record
    s = await run_with_faults(sim, store, FaultConfig(rates=(("400", 1.0),)), max_error_rate=1.0)
    assert s["completed"] == s["samples"] == LIMIT
    assert s["errors"] == LIMIT
    assert s["status"] == "failed" and s["failure"].startswith("every request failed (30 of 30")
    assert s["_fault_counts"]["400"] == LIMIT, "a 400 is not retried: one attempt per sample"
    assert all(r["outcome"] == "error" for r in s["_records"])


async def test_faults_that_outlast_the_retries_are_errors(sim: SimFactory, store: Store) -> None:
    faults = FaultConfig(rates=(("503", 0.5), ("400", 0.2)), retry_after=0.0)
    s = await run_with_faults(sim, store, faults, max_attempts=2, max_error_rate=1.0)
    assert s["completed"] == s["samples"] == LIMIT
    assert 0 < s["errors"] < LIMIT
    ok = [r for r in s["_records"] if r["outcome"] != "error"]
    assert len(ok) + s["errors"] == LIMIT


async def test_drop_is_a_transport_error_the_client_sees(sim: SimFactory) -> None:
    async with (
        sim(faults=FaultConfig(rates=(("drop", 1.0),))) as (url, _app),
        aiohttp.ClientSession() as session,
    ):
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        with pytest.raises(aiohttp.ClientPayloadError):
            async with session.post(url + "/chat/completions", json=body) as resp:
                await resp.read()


async def test_429_carries_retry_after(sim: SimFactory) -> None:
    async with (
        sim(faults=FaultConfig(rates=(("429", 1.0),), retry_after=7)) as (url, _app),
        aiohttp.ClientSession() as session,
    ):
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        async with session.post(url + "/chat/completions", json=body) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "7"


def test_fault_specs_are_validated() -> None:
    cfg = parse_faults(["503=0.1", "empty_choices:0.2", "timeout=0.05"])
    assert dict(cfg.rates) == {"503": 0.1, "empty": 0.2, "hang": 0.05}
    for bad in (["teapot=0.1"], ["503=2"], ["503=x"], ["500=0.6", "503=0.6"]):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


async def test_total_timeout_caps_a_request_over_its_retries(sim: SimFactory, store: Store) -> None:
    # every answer is a 429 asking for 0.2 s: without a total deadline each request would
    # take its 20 attempts (about 4 s); with --total-timeout 1 it gives up after about 1 s
    faults = FaultConfig(rates=(("429", 1.0),), retry_after=0.2)
    s = await run_with_faults(sim, store, faults, max_attempts=20, total_timeout=1.0, limit=3)
    assert s["completed"] == 3 and s["errors"] == 3
    attempts = [p["attempts"] for r in s["_records"] for p in r["parts"]]
    assert attempts and all(2 <= a <= 6 for a in attempts), attempts


async def test_total_timeout_cuts_an_attempt_that_hangs(sim: SimFactory, store: Store) -> None:
    faults = FaultConfig(rates=(("hang", 1.0),))
    s = await run_with_faults(sim, store, faults, timeout=30.0, total_timeout=0.5, limit=2)
    assert s["completed"] == 2 and s["errors"] == 2
    parts = [p for r in s["_records"] for p in r["parts"]]
    assert all(p["attempts"] == 1 and p["error_kind"] == "timeout" for p in parts), parts
    assert all("total-timeout" in p["error"] for p in parts)
