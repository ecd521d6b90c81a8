"""``bench serve`` as a real process: kill -9 in the middle of a job, SIGTERM with a grace period.

The in-process tests (test_service.py) stop the app abruptly; these kill the actual
process, so nothing in Python gets a chance to flush, and check what the store kept.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import orjson
from policybench.service.store import Store

from .conftest import BALANCED


@asynccontextmanager
async def service(
    store: Path, grace: float = 10.0
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "policybench.bench",
        "serve",
        "--port",
        "0",
        "--store",
        str(store),
        "--dataset-root",
        str(BALANCED.parent),
        "--grace-period",
        str(grace),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def submit(url: str) -> str:
    body = {
        "dataset": str(BALANCED),
        "sim": True,
        "sim_time_scale": 0.1,
        "concurrency": 4,
        "sim_error_rate": 0.2,
    }
    async with aiohttp.ClientSession() as s, s.post(url + "/v1/runs", json=body) as r:
        assert r.status == 202, await r.text()
        return str((await r.json())["run_id"])


async def wait_for_progress(url: str, run_id: str, at_least: int) -> int:
    """Follow the run's event stream until ``at_least`` samples are done (or it ends)."""
    async with aiohttp.ClientSession() as s, s.get(f"{url}/v1/runs/{run_id}/events") as r:
        async for line in r.content:
            if line.startswith(b"data:"):
                data = orjson.loads(line[5:])
                done = int(data.get("completed") or 0)
                if done >= at_least or data.get("status") in (
                    "success",
                    "done",
                    "cancelled",
                    "error",
                ):
                    return done
    return -1


async def test_kill_9_mid_job_then_restart_records_every_sample_once(tmp_path: Path) -> None:
    db = tmp_path / "service.sqlite"
    async with service(db) as (url, proc):
        run_id = await submit(url)
        assert await wait_for_progress(url, run_id, 10) >= 10
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    with Store(db) as store:
        kept = store.count_records(run_id)
        assert 0 < kept < 90  # killed mid-job, with some records on disk
    async with service(db) as (url, _proc):
        assert await wait_for_progress(url, run_id, 90) == 90
        async with aiohttp.ClientSession() as s, s.get(f"{url}/v1/runs/{run_id}/results") as r:
            lines = [orjson.loads(x) for x in (await r.read()).splitlines() if x.strip()]
    ids = [x["sample_id"] for x in lines]
    assert len(ids) == 90 and len(set(ids)) == 90  # every sample exactly once
    with Store(db) as store:
        assert store.get_run(run_id).summary.completed == 90


async def test_sigterm_stops_within_the_grace_period_and_the_job_resumes(tmp_path: Path) -> None:
    db = tmp_path / "service.sqlite"
    async with service(db, grace=5.0) as (url, proc):
        run_id = await submit(url)
        assert await wait_for_progress(url, run_id, 5) >= 5
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0  # clean exit
    with Store(db) as store:
        assert store.count_records(run_id) < 90
    async with service(db) as (url, _proc):
        assert await wait_for_progress(url, run_id, 90) == 90
