"""The aiohttp application of ``bench serve``: routes, typed app state, owned background work.

State lives under typed :class:`web.AppKey` s; the job queue's scheduler is background
work owned by a ``cleanup_ctx`` (started before the first request, and on shutdown: no
new jobs, running ones get the grace period to stop at a checkpoint, then the store keeps
them ``running`` so the next start resumes them).  Routes are documented in
``openapi.json`` beside this module (also served at ``/openapi.json``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from ..errors import ConfigError, InputError
from ..redaction import url_without_credentials
from ..runner import prepare
from ..store import JOB_STATUSES, Store
from ..viewer.mount import mount_viewer
from .connections import GuardedSite, raise_file_limit, runner_options
from .jobs import Job, JobQueue
from .metrics import registry_for
from .security import Handler, auth_middleware, error_response, errors_middleware
from .settings import ServiceConfig
from .sse import stream_events
from .submissions import config_from_submission, expand_matrix, input_field

log = logging.getLogger("policybench.service")

SETTINGS = web.AppKey("settings", ServiceConfig)
STORE = web.AppKey("store", Store)
QUEUE = web.AppKey("queue", JobQueue)
CLOSING = web.AppKey("closing", asyncio.Event)
METRICS: web.AppKey[Handler] = web.AppKey("metrics", object)  # type: ignore[arg-type]

SPEC_PATH = Path(__file__).with_name("openapi.json")
RUN_ID = r"{run_id:[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}}"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


# -- views ---------------------------------------------------------------------------------
def job_view(queue: JobQueue, job: Job) -> dict[str, Any]:
    progress = job.hub.snapshot()
    progress["status"] = job.status
    if job.hub.total is None and queue.store.has_run(job.job_id):
        row = queue.store.get_run(job.job_id)  # a job run by an earlier process
        progress["total"] = row.samples_total
        progress["completed"] = row.completed
    return {
        "run_id": job.job_id,
        "status": job.status,
        "position": queue.position(job),
        "cancel_requested": job.cancel_requested,
        "submitted_at": job.submitted_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "config": _shown_config(job),
        "progress": progress,
    }


def _shown_config(job: Job) -> dict[str, Any]:
    """A job's config as served: URLs without any ``user:password@`` they were given."""
    config = job.config.model_dump(mode="json")
    config["base_url"] = url_without_credentials(config["base_url"])
    config["endpoints"] = [url_without_credentials(u) for u in config.get("endpoints", ())]
    return config


def _job(request: web.Request) -> Job:
    job = request.app[QUEUE].jobs.get(request.match_info["run_id"])
    if job is None:
        raise web.HTTPNotFound(reason=f"no run {request.match_info['run_id']!r}")
    return job


async def _body(request: web.Request) -> Any:
    try:
        async with asyncio.timeout(request.app[SETTINGS].body_timeout):
            raw = await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason="the request body did not arrive in time") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError("body", f"not valid JSON: {exc}") from exc


async def _validated(body: Any, settings: ServiceConfig, prefix: str = "") -> Any:
    try:
        config = config_from_submission(body, settings)
        await asyncio.to_thread(prepare, config)  # reads policies and the whole dataset
    except InputError as exc:
        raise _Invalid(prefix + input_field(exc), str(exc)) from exc
    return config


class _Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# -- handlers ------------------------------------------------------------------------------
async def submit_run(request: web.Request) -> web.Response:
    queue = request.app[QUEUE]
    if not queue.accepting:
        return error_response(503, "the service is shutting down")
    try:
        config = await _validated(await _body(request), request.app[SETTINGS])
    except ConfigError as exc:
        return error_response(400, str(exc), exc.field)
    except _Invalid as exc:
        return error_response(400, str(exc), exc.field)
    job = queue.submit(config)
    resp = _json(job_view(queue, job), status=202)
    resp.headers["Location"] = f"/v1/runs/{job.job_id}"
    return resp


async def submit_matrix(request: web.Request) -> web.Response:
    queue = request.app[QUEUE]
    settings = request.app[SETTINGS]
    if not queue.accepting:
        return error_response(503, "the service is shutting down")
    try:
        submissions = expand_matrix(await _body(request), settings.max_matrix_runs)
        configs = [await _validated(s, settings, f"runs[{i}].") for i, s in enumerate(submissions)]
    except ConfigError as exc:
        return error_response(400, str(exc), exc.field)
    except _Invalid as exc:
        return error_response(400, str(exc), exc.field)
    jobs = [queue.submit(c) for c in configs]  # all or nothing: every run validated first
    return _json({"runs": [job_view(queue, j) for j in jobs]}, status=202)


async def list_runs(request: web.Request) -> web.Response:
    queue = request.app[QUEUE]
    status = request.query.get("status")
    if status is not None and status not in JOB_STATUSES:
        return error_response(400, f"status: not one of {', '.join(JOB_STATUSES)}", "status")
    jobs = [j for j in queue.jobs.values() if status is None or j.status == status]
    return _json({"runs": [job_view(queue, j) for j in jobs]})


async def get_run(request: web.Request) -> web.Response:
    return _json(job_view(request.app[QUEUE], _job(request)))


async def cancel_run(request: web.Request) -> web.Response:
    queue = request.app[QUEUE]
    job = _job(request)
    if job.status in ("done", "failed"):
        return error_response(409, f"run {job.job_id} already {job.status}")
    queue.cancel(job)
    return _json(job_view(queue, job), status=202)


async def run_events(request: web.Request) -> web.StreamResponse:
    job = _job(request)
    return await stream_events(request, job.hub, {"run_id": job.job_id}, request.app[CLOSING])


async def run_results(request: web.Request) -> web.StreamResponse:
    """Per-sample records as JSON lines in dataset order, streamed from the store."""
    job = _job(request)
    store = request.app[STORE]
    resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await resp.prepare(request)
    last = -1
    while True:
        rows = await asyncio.to_thread(store.records_after, job.job_id, last, 1000)
        if not rows:
            break
        await resp.write("".join(rec + "\n" for _, rec in rows).encode())
        last = rows[-1][0]
    await resp.write_eof()
    return resp


async def run_report(request: web.Request) -> web.Response:
    job = _job(request)
    store = request.app[STORE]
    summary = job.hub.summary
    if summary is None and store.has_run(job.job_id):
        summary = store.get_run(job.job_id).summary
    shown = None if summary is None else summary.to_json()
    return _json({"run_id": job.job_id, "status": job.status, "summary": shown})


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    queue = request.app.get(QUEUE)
    if queue is None or not queue.accepting:
        return _json({"status": "draining"}, status=503)
    return _json({"status": "ready", "max_jobs": queue.settings.max_jobs})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=SPEC_PATH.read_bytes(), content_type="application/json")


# -- the application -----------------------------------------------------------------------
def build_app(settings: ServiceConfig, store: Store) -> web.Application:
    """The service on ``store`` (opened and closed by the caller)."""
    settings.check()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[auth_middleware(settings), errors_middleware(settings.max_body_bytes)],
    )
    app[SETTINGS] = settings
    app[STORE] = store
    app[CLOSING] = asyncio.Event()

    async def queue_ctx(app: web.Application) -> AsyncIterator[None]:
        queue = JobQueue(store, settings)
        queue.load()
        app[QUEUE] = queue
        app[METRICS] = make_aiohttp_handler(registry_for(queue))
        scheduler = asyncio.create_task(queue.run_forever(), name="job-scheduler")
        yield
        app[CLOSING].set()
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
        await queue.shutdown(settings.grace_period)

    async def on_shutdown(app: web.Application) -> None:
        app[CLOSING].set()  # ends event streams so the server can close their connections
        if QUEUE in app:
            app[QUEUE].accepting = False

    async def metrics(request: web.Request) -> web.StreamResponse:
        return await request.app[METRICS](request)

    app.cleanup_ctx.append(queue_ctx)
    app.on_shutdown.append(on_shutdown)
    r = app.router
    r.add_post("/v1/runs", submit_run)
    r.add_get("/v1/runs", list_runs)
    r.add_post("/v1/matrix", submit_matrix)
    r.add_get(f"/v1/runs/{RUN_ID}", get_run)
    r.add_post(f"/v1/runs/{RUN_ID}/cancel", cancel_run)
    r.add_get(f"/v1/runs/{RUN_ID}/events", run_events)
    r.add_get(f"/v1/runs/{RUN_ID}/results", run_results)
    r.add_get(f"/v1/runs/{RUN_ID}/report", run_report)
    r.add_get("/metrics", metrics)
    r.add_get("/healthz", healthz)
    r.add_get("/readyz", readyz)
    r.add_get("/openapi.json", openapi)
    mount_viewer(app, store, settings.token)  # the web viewer at /ui (service/viewer)
    return app


@contextlib.asynccontextmanager
async def serve(settings: ServiceConfig, store: Store) -> AsyncIterator[str]:
    """Serve on ``settings.host:port`` (0 = ephemeral) in this loop; yields the base URL."""
    app = build_app(settings, store)
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=settings.grace_period + 5,
        **runner_options(settings.header_timeout),
    )
    await runner.setup()
    try:
        host = settings.host.strip("[]")  # ``[::1]`` as a user writes it in a URL
        cap = min(settings.max_connections, raise_file_limit())
        site = GuardedSite(runner, host, settings.port, max_connections=cap)
        try:
            await site.start()
        except OSError as exc:  # includes socket.gaierror for a name that does not resolve
            raise ConfigError(
                "host", f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
            ) from exc
        port = int(runner.addresses[0][1])
        host = f"[{host}]" if ":" in host else host
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
