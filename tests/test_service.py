"""``bench serve`` end to end: the service on an ephemeral loopback port, the simulated
server (or a scripted one) upstream, real HTTP both ways."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from policybench.service.api import ServiceConfig, build_app
from policybench.service.api.app import QUEUE
from policybench.service.errors import ConfigError
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory

TOKEN = "t" * 24
UNREACHABLE = {"base_url": "http://127.0.0.1:9/v1", "max_attempts": 1}


@contextlib.asynccontextmanager
async def service(store: Store, **settings: Any) -> AsyncIterator[tuple[str, web.Application]]:
    app = build_app(ServiceConfig(port=0, **settings), store)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", app
    finally:
        await runner.cleanup()


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with session.post(url, data=orjson.dumps(body)) as resp:
        return resp.status, await resp.json()


async def events(session: aiohttp.ClientSession, url: str) -> list[tuple[str, dict[str, Any]]]:
    """Every event of one stream, until ``end``."""
    out: list[tuple[str, dict[str, Any]]] = []
    async with session.get(url) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/event-stream"
        name = ""
        async for line in resp.content:
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                name = text[7:]
            elif text.startswith("data: "):
                out.append((name, orjson.loads(text[6:])))
    return out


async def wait_final(app: web.Application, run_id: str) -> str:
    hub = app[QUEUE].jobs[run_id].hub
    while hub.status not in ("done", "cancelled", "failed"):
        await hub.changed(hub.version)
    return hub.status


# -- the happy path: submit, SSE progress, results, report, metrics ------------------------
async def test_run_streams_progress_then_results_and_report(sim: SimFactory, store: Store) -> None:
    async with (
        sim(time_scale=0.05) as (sim_url, _),
        service(store) as (url, _app),
        aiohttp.ClientSession() as s,
    ):
        status, job = await post(
            s, f"{url}/v1/runs", {"dataset": "balanced", "base_url": sim_url, "concurrency": 4}
        )
        assert status == 202, job
        run_id = job["run_id"]
        stream = await events(s, f"{url}/v1/runs/{run_id}/events")
        names = [n for n, _ in stream]
        assert names[-1] == "end" and names.count("end") == 1
        assert "progress" in names
        done = [d["completed"] for n, d in stream if n == "progress"]
        assert done == sorted(done)  # progress never goes backwards
        end = stream[-1][1]
        assert end["status"] == "done" and end["summary"]["completed"] == 90

        async with s.get(f"{url}/v1/runs/{run_id}/results") as resp:
            assert resp.status == 200 and resp.content_type == "application/x-ndjson"
            lines = (await resp.read()).decode().splitlines()
        records = [orjson.loads(line) for line in lines]
        assert len(records) == 90 == len({r["sample_id"] for r in records})

        async with s.get(f"{url}/v1/runs/{run_id}/report") as resp:
            report = await resp.json()
        assert report["summary"]["samples"] == 90
        async with s.get(f"{url}/v1/runs/{run_id}") as resp:
            view = await resp.json()
        assert view["status"] == "done" and view["progress"]["completed"] == 90
        async with s.get(f"{url}/metrics") as resp:
            metrics = await resp.text()
        assert f'policybench_job_samples_completed{{run_id="{run_id}"}} 90.0' in metrics
        assert 'policybench_service_jobs{status="done"} 1.0' in metrics


# -- queue order, positions, cancel: a scripted upstream that holds every request -------------
class Arrivals(list[str]):
    """Requests seen upstream; ``await arrivals.reach(n)`` waits for the n-th, no polling."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def add(self, item: str) -> None:
        self.append(item)
        self._changed.set()

    async def reach(self, n: int) -> None:
        while len(self) < n:
            self._changed.clear()
            await self._changed.wait()


@contextlib.asynccontextmanager
async def holding_server() -> AsyncIterator[tuple[str, asyncio.Event, Arrivals]]:
    """An upstream that answers nothing until released; records the Authorization headers."""
    release = asyncio.Event()
    seen = Arrivals()

    async def chat(request: web.Request) -> web.Response:
        seen.add(request.headers.get("Authorization", ""))
        await release.wait()
        return web.json_response({"error": "released"}, status=500)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1", release, seen
    finally:
        release.set()
        await runner.cleanup()


async def test_queue_order_positions_and_cancel(sim: SimFactory, store: Store) -> None:
    async with (
        holding_server() as (held_url, _release, seen),
        sim() as (sim_url, _),
        service(store, max_jobs=1) as (url, app),
        aiohttp.ClientSession() as s,
    ):
        blocker = {"dataset": "balanced", "base_url": held_url, "concurrency": 2, "grace_period": 0}
        status, a = await post(s, f"{url}/v1/runs", blocker)
        assert status == 202
        queue = app[QUEUE]
        await seen.reach(1)  # job A has requests in flight upstream, and holds the only slot
        quick = {"dataset": "balanced", "base_url": sim_url, "limit": 5}
        results = await asyncio.gather(*(post(s, f"{url}/v1/runs", quick) for _ in range(3)))
        assert all(st == 202 for st, _ in results)
        async with s.get(f"{url}/v1/runs") as resp:
            listed = (await resp.json())["runs"]
        ids = [j["run_id"] for j in listed[1:]]  # the order the service accepted them in
        assert listed[0]["run_id"] == a["run_id"]
        assert sorted(ids) == sorted(j["run_id"] for _, j in results) and len(set(ids)) == 3
        stamps = [j["submitted_at"] for j in listed]
        assert stamps == sorted(stamps)
        assert [j["status"] for j in listed] == ["running", "queued", "queued", "queued"]
        assert [j["position"] for j in listed] == [None, 0, 1, 2]

        # cancel a queued job: immediate, it never runs
        status, b = await post(s, f"{url}/v1/runs/{ids[0]}/cancel", None)
        assert status == 202 and b["status"] == "cancelled"
        # cancel the running one: it stops, the queue moves on in order
        status, _ = await post(s, f"{url}/v1/runs/{a['run_id']}/cancel", None)
        assert status == 202
        assert await wait_final(app, a["run_id"]) == "cancelled"
        for run_id in ids[1:]:
            assert await wait_final(app, run_id) == "done"
        jobs = [queue.jobs[i] for i in ids[1:]]
        assert jobs[0].finished_at is not None and jobs[1].started_at is not None
        assert jobs[0].finished_at <= jobs[1].started_at  # one at a time, in order
        assert queue.jobs[ids[0]].started_at is None
        status, _ = await post(s, f"{url}/v1/runs/{ids[1]}/cancel", None)
        assert status == 409
        assert store.get_job(ids[0]).status == "cancelled"  # type: ignore[union-attr]
        assert store.get_job(a["run_id"]).status == "cancelled"  # type: ignore[union-attr]


# -- the global per-endpoint cap, seen from the simulator ------------------------------------
@contextlib.asynccontextmanager
async def counted_sim(**kwargs: Any) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """The simulated server with a middleware counting the requests it holds at once."""
    from policybench.bench.sim import SimConfig
    from policybench.bench.sim import build_app as build_sim

    kwargs.setdefault("datasets", (str(BALANCED),))
    app = build_sim(SimConfig(**kwargs))
    seen = {"now": 0, "peak": 0, "total": 0}

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.endswith("/chat/completions"):
            return await handler(request)
        seen["now"] += 1
        seen["total"] += 1
        seen["peak"] = max(seen["peak"], seen["now"])
        try:
            return await handler(request)
        finally:
            seen["now"] -= 1

    app.middlewares.append(count)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1", seen
    finally:
        await runner.cleanup()


async def test_two_jobs_never_exceed_the_endpoint_cap(store: Store) -> None:
    cap = 3
    async with (
        counted_sim(time_scale=0.05) as (sim_url, seen),
        service(store, max_jobs=2, max_inflight_per_endpoint=cap) as (url, app),
        aiohttp.ClientSession() as s,
    ):
        body = {"dataset": "balanced", "base_url": sim_url, "concurrency": 8, "limit": 40}
        (st1, j1), (st2, j2) = await asyncio.gather(
            post(s, f"{url}/v1/runs", body), post(s, f"{url}/v1/runs", body)
        )
        assert st1 == st2 == 202
        assert await wait_final(app, j1["run_id"]) == "done"
        assert await wait_final(app, j2["run_id"]) == "done"
        assert seen["total"] == 80
        assert seen["peak"] <= cap  # never over the cap, counted by the server
        assert seen["peak"] == cap  # ... and a violation would show: demand (16) saturated it
        queue = app[QUEUE]
        first, second = queue.jobs[j1["run_id"]], queue.jobs[j2["run_id"]]
        assert first.started_at is not None and second.started_at is not None
        assert first.finished_at is not None and second.finished_at is not None
        assert max(first.started_at, second.started_at) < min(first.finished_at, second.finished_at)


# -- restart in the middle of a job ----------------------------------------------------------
async def test_restart_mid_job_resumes_and_records_each_sample_once(
    sim: SimFactory, tmp_path: Path
) -> None:
    path = tmp_path / "runs.sqlite"
    async with sim(time_scale=0.05) as (sim_url, _):
        first_store = Store(path)
        async with service(first_store, grace_period=0) as (url, app), aiohttp.ClientSession() as s:
            status, job = await post(
                s, f"{url}/v1/runs", {"dataset": "balanced", "base_url": sim_url, "concurrency": 8}
            )
            assert status == 202
            run_id = job["run_id"]
            hub = app[QUEUE].jobs[run_id].hub
            while hub.snapshot()["completed"] < 8:
                await hub.changed(hub.version)
        # the app is gone without a checkpoint (grace 0): the job is still `running`
        assert first_store.get_job(run_id).status == "running"  # type: ignore[union-attr]
        before = first_store.count_records(run_id)
        first_store.close()
        assert 0 < before < 90

        second_store = Store(path)
        try:
            async with service(second_store) as (url, app), aiohttp.ClientSession() as s:
                assert await wait_final(app, run_id) == "done"
                async with s.get(f"{url}/v1/runs/{run_id}/report") as resp:
                    summary = (await resp.json())["summary"]
            assert app[QUEUE].jobs[run_id].hub.resumed
            assert second_store.count_records(run_id) == 90
            assert len(second_store.recorded_ids(run_id)) == 90
            assert summary["completed"] == summary["samples"] == 90  # nothing counted twice
            assert second_store.get_job(run_id).status == "done"  # type: ignore[union-attr]
        finally:
            second_store.close()


async def test_queued_jobs_stay_queued_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    async with holding_server() as (held_url, _release, _seen):
        store = Store(path)
        body = {"dataset": "balanced", "base_url": held_url, "grace_period": 0}
        async with (
            service(store, max_jobs=1, grace_period=0) as (url, _app),
            aiohttp.ClientSession() as s,
        ):
            ids = [(await post(s, f"{url}/v1/runs", body))[1]["run_id"] for _ in range(3)]
        assert [store.get_job(i).status for i in ids] == ["running", "queued", "queued"]  # type: ignore[union-attr]
        async with service(store, max_jobs=1, grace_period=0) as (url, app):
            queue = app[QUEUE]
            await asyncio.sleep(0)
            assert [queue.jobs[i].status for i in ids] == ["running", "queued", "queued"]
            assert [queue.position(queue.jobs[i]) for i in ids] == [None, 0, 1]
        store.close()


# -- validation, security ---------------------------------------------------------------------
async def test_bad_submissions_are_400_naming_the_field(store: Store) -> None:
    async with service(store) as (url, _app), aiohttp.ClientSession() as s:
        cases = [
            ({"dataset": "balanced", "concurrency": 0}, "concurrency"),
            ({"dataset": "balanced", "strategy": "vote"}, "strategy"),
            ({"dataset": "balanced", "api_key": "x"}, "api-key"),
            ({"dataset": "balanced", "backend": "simulated"}, "backend"),
            ({"policies": "minimal"}, "dataset"),
            ({"dataset": "no-such-set"}, "dataset"),
            ({"dataset": "balanced", "sim": True}, "sim"),  # this service has no simulator
            ([1, 2], "body"),
        ]
        for body, field in cases:
            status, err = await post(s, f"{url}/v1/runs", body)
            assert (status, err.get("field")) == (400, field), (body, err)
        async with s.post(f"{url}/v1/runs", data=b"{nope") as resp:
            assert resp.status == 400 and (await resp.json())["field"] == "body"
        status, err = await post(
            s,
            f"{url}/v1/matrix",
            {"base": {"dataset": "balanced"}, "axes": {"concurrency": [4, -1]}},
        )
        assert status == 400 and err["field"] == "runs[1].concurrency"
        async with s.get(f"{url}/v1/runs/nope") as resp:
            assert resp.status == 404 and "error" in await resp.json()


async def test_paths_are_confined_to_the_roots(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(BALANCED.read_bytes())
    (root / "ok.jsonl").write_bytes(BALANCED.read_bytes())
    (root / "link.jsonl").symlink_to(outside)
    (root / "linkdir").symlink_to(tmp_path)
    async with (
        service(store, dataset_roots=(root,), policy_roots=(root,)) as (url, _app),
        aiohttp.ClientSession() as s,
    ):
        for dataset in (
            "../outside.jsonl",
            str(outside),
            "sub/../../outside.jsonl",
            "link.jsonl",
            "linkdir/outside.jsonl",
            str(root / "link.jsonl"),
        ):
            status, err = await post(s, f"{url}/v1/runs", {"dataset": dataset})
            assert (status, err.get("field")) == (400, "dataset"), dataset
        for policies in ("../", str(tmp_path), "linkdir@minimal"):
            status, err = await post(
                s, f"{url}/v1/runs", {"dataset": "balanced", "policies": policies}
            )
            assert (status, err.get("field")) == (400, "policies"), policies
        for dataset in ("ok.jsonl", str(root / "ok.jsonl"), "balanced"):
            status, job = await post(
                s,
                f"{url}/v1/runs",
                {
                    "dataset": dataset,
                    "limit": 1,
                    "base_url": "http://127.0.0.1:9/v1",
                    "max_attempts": 1,
                },
            )
            assert status == 202, (dataset, job)


async def test_oversized_bodies_are_413(store: Store) -> None:
    async with service(store, max_body_bytes=4096) as (url, _app), aiohttp.ClientSession() as s:
        big = orjson.dumps({"dataset": "balanced", "model": "m" * 5000})
        async with s.post(f"{url}/v1/runs", data=big) as resp:
            assert resp.status == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while read
            for _ in range(10):
                yield b" " * 1024

        async with s.post(f"{url}/v1/runs", data=chunks()) as resp:
            assert resp.status == 413
        status, _ = await post(
            s,
            f"{url}/v1/runs",
            {"dataset": "balanced", "model": "m" * 100, "limit": 1, **UNREACHABLE},
        )
        assert status == 202


def test_non_loopback_requires_a_token() -> None:
    assert not ServiceConfig(host="127.0.0.1").requires_token
    assert not ServiceConfig(host="::1").requires_token
    assert not ServiceConfig(host="localhost").requires_token
    assert ServiceConfig(host="0.0.0.0", token=TOKEN).requires_token
    assert ServiceConfig(host="127.0.0.1", token=TOKEN).requires_token
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        with pytest.raises(ConfigError) as info:
            ServiceConfig(host=host).check()
        assert info.value.field == "token-env"
    ServiceConfig(host="0.0.0.0", token=TOKEN).check()


def test_bench_serve_refuses_a_public_address_without_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner
    from policybench.bench.cli import cli

    monkeypatch.delenv("POLICYBENCH_SERVICE_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "--token-env" in result.output and "refusing" in result.output


async def test_token_required_on_every_endpoint_but_healthz(store: Store) -> None:
    async with service(store, token=TOKEN) as (url, _app), aiohttp.ClientSession() as s:
        for method, path in (
            ("GET", "/v1/runs"),
            ("POST", "/v1/runs"),
            ("GET", "/metrics"),
            ("GET", "/readyz"),
            ("GET", "/openapi.json"),
            ("GET", "/v1/runs/x/events"),
        ):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                async with s.request(method, url + path, headers=headers) as resp:
                    assert resp.status == 401, (method, path, headers)
                    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        async with s.get(f"{url}/healthz") as resp:
            assert resp.status == 200
        async with s.get(f"{url}/v1/runs", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            assert resp.status == 200


async def test_api_key_reaches_upstream_but_never_responses_store_or_logs(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-very-secret-upstream-key-123"
    caplog.set_level("DEBUG")
    async with (
        holding_server() as (held_url, release, seen),
        service(store, api_key=key, upstreams=(held_url,)) as (url, app),
        aiohttp.ClientSession() as s,
    ):
        status, job = await post(
            s,
            f"{url}/v1/runs",
            {"dataset": "balanced", "base_url": held_url, "limit": 3, "max_attempts": 1},
        )
        assert status == 202
        hub = app[QUEUE].jobs[job["run_id"]].hub
        await seen.reach(3)
        release.set()
        assert await wait_final(app, job["run_id"]) == "done"
        bodies = []
        for path in (
            "/v1/runs",
            f"/v1/runs/{job['run_id']}",
            f"/v1/runs/{job['run_id']}/results",
            f"/v1/runs/{job['run_id']}/report",
            "/metrics",
        ):
            async with s.get(url + path) as resp:
                bodies.append(await resp.text())
        del hub
    assert seen[0] == f"Bearer {key}"  # it was used...
    assert all(key not in b for b in bodies)  # ... and never shown
    assert key not in caplog.text
    store.close()
    for file in store.path.parent.glob("runs.sqlite*"):
        assert key.encode() not in file.read_bytes()
