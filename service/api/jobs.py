"""The job queue: submitted runs, at most ``max_jobs`` at once, the rest in submission order.

Job state lives in the run store's ``jobs`` table (``queued -> running -> done | cancelled
| failed``), so a restart -- ``kill -9`` included -- finds queued jobs still queued and
running ones still ``running``; those are started again first, as resumed runs (the
store's records say which samples are done; nothing is sent or counted twice).

Every request of every job to one upstream endpoint passes one shared :class:`Gate` (a
FIFO limit per base URL), so two jobs together never put more than
``max_inflight_per_endpoint`` requests in flight on one server.  A job's own
``concurrency`` still bounds the job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from yarl import URL

from ..backends import with_server
from ..config import RunConfig
from ..errors import PolicybenchError
from ..limiter import Limiter
from ..redaction import redact
from ..runner import Prepared, Run, new_run_id, prepare
from ..store import Store
from .settings import ServiceConfig
from .sse import ProgressHub

log = logging.getLogger("policybench.service")

FINAL = frozenset({"done", "cancelled", "failed"})


def endpoint_key(base_url: str) -> str:
    """The endpoint a base URL talks to, without credentials (also a metrics label)."""
    try:
        url = URL(base_url)
        if url.absolute:
            url = url.with_user(None).with_password(None)
        return str(url.with_query(None).with_fragment(None))
    except ValueError:  # not a URL aiohttp could use either; the run will fail and say so
        return base_url.rpartition("@")[2]


class Gate:
    """A shared in-flight cap for one endpoint: ``async with gate:`` around each request."""

    __slots__ = ("_limiter", "endpoint", "peak")

    def __init__(self, endpoint: str, limit: int) -> None:
        self.endpoint = endpoint
        self._limiter = Limiter(limit)
        self.peak = 0

    @property
    def in_flight(self) -> int:
        return self._limiter.in_flight

    @property
    def limit(self) -> int:
        return self._limiter.limit

    async def __aenter__(self) -> Gate:
        await self._limiter.acquire()  # never closed: always grants a slot
        if self._limiter.in_flight > self.peak:
            self.peak = self._limiter.in_flight
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._limiter.release()


@dataclass(slots=True)
class Job:
    job_id: str
    seq: int
    config: RunConfig
    status: str
    submitted_at: float
    hub: ProgressHub
    error: str | None = None
    run: Run | None = None
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    started_at: float | None = None
    finished_at: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


class JobQueue:
    """Owns the jobs of one service process.  ``run_forever`` is its scheduler task."""

    def __init__(self, store: Store, settings: ServiceConfig) -> None:
        self.store = store
        self.settings = settings
        self.jobs: dict[str, Job] = {}
        self.gates: dict[str, Gate] = {}
        self.accepting = True
        self._wake = asyncio.Event()
        self._active: dict[str, Job] = {}

    # -- state -------------------------------------------------------------------------
    def load(self) -> None:
        """Read every stored job; ``queued`` and ``running`` ones are picked up again."""
        for row in self.store.list_jobs():
            config = RunConfig.model_validate(row.config)
            job = Job(row.job_id, row.seq, config, row.status, row.submitted_at, ProgressHub())
            job.error = row.error
            job.hub.set_status(row.status)
            self.jobs[row.job_id] = job
        self._wake.set()

    def gate(self, base_url: str) -> Gate:
        key = endpoint_key(base_url)
        gate = self.gates.get(key)
        if gate is None:
            gate = self.gates[key] = Gate(key, self.settings.max_inflight_per_endpoint)
        return gate

    def position(self, job: Job) -> int | None:
        """0-based place in the queue of a queued job."""
        if job.status != "queued":
            return None
        return sum(1 for j in self.jobs.values() if j.status == "queued" and j.seq < job.seq)

    # -- commands ----------------------------------------------------------------------
    def submit(self, config: RunConfig) -> Job:
        job_id = new_run_id()
        while job_id in self.jobs:  # pragma: no cover - 24 random bits within one second
            job_id = new_run_id()
        self.store.add_job(job_id, config.model_dump(mode="json"))
        row = self.store.get_job(job_id)
        assert row is not None
        job = Job(job_id, row.seq, config, "queued", row.submitted_at, ProgressHub())
        job.hub.set_status("queued")
        self.jobs[job_id] = job
        log.info("job %s queued (%s, %s)", job_id, config.model, config.strategy)
        self._wake.set()
        return job

    def cancel(self, job: Job) -> None:
        if job.status in FINAL:
            return
        job.cancel_requested = True
        if job.task is None:  # queued (or running in the store, not yet picked up)
            self._finish(job, "cancelled")
        elif job.run is not None:
            job.run.request_stop("cancelled")
        # a job still preparing sees ``cancel_requested`` before it starts its run

    # -- scheduling --------------------------------------------------------------------
    async def run_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._start_ready()

    def _start_ready(self) -> None:
        if not self.accepting:
            return
        waiting = [
            j for j in self.jobs.values() if j.status in ("queued", "running") and j.task is None
        ]
        # interrupted runs first (they were running before a restart), then submission order
        waiting.sort(key=lambda j: (j.status != "running", j.seq))
        for job in waiting:
            if len(self._active) >= self.settings.max_jobs:
                return
            self._active[job.job_id] = job
            job.task = asyncio.create_task(self._execute(job), name=f"job-{job.job_id}")

    async def _execute(self, job: Job) -> None:
        job.status = "running"
        job.started_at = time.time()
        self.store.set_job_status(job.job_id, "running")
        job.hub.set_status("running")
        final: str | None = None
        try:
            prepared = await asyncio.to_thread(prepare, job.config)
            async with self._backend(prepared) as ready:
                resume = job.job_id if self.store.has_run(job.job_id) else None
                run = Run(
                    ready,
                    self.store,
                    # the operator's key goes only to the upstreams it allows (submissions
                    # are checked against them), never to a simulated run's local server
                    api_key=None if job.config.backend == "simulated" else self.settings.api_key,
                    observer=job.hub,
                    resume=resume,
                    run_id=job.job_id,
                    gate=self.gate(ready.config.base_url),
                )
                job.run = run
                if job.cancel_requested:
                    run.request_stop("cancelled")
                try:
                    result = await run.execute()
                    status, summary = result.status, result.summary
                except PolicybenchError as exc:  # the error budget, a store problem
                    status, summary = "error", None
                    job.error = self._clean(str(exc))
            job.hub.summary = summary
            if status == "success":
                final = "done"
            elif status == "cancelled" and job.cancel_requested:
                final = "cancelled"
            elif status == "cancelled":
                # stopped by a shutdown: stays ``running`` in the store, resumed next start
                job.hub.set_status("interrupted")
                log.info("job %s interrupted by shutdown; resumes on restart", job.job_id)
            else:
                final = "failed"
                job.error = job.error or self._clean(str(self.store.get_run(job.job_id).error))
        except asyncio.CancelledError:
            job.hub.set_status("interrupted")
            raise
        except Exception as exc:  # an input that went bad since submission, a backend failure
            final = "failed"
            job.error = self._clean(f"{type(exc).__name__}: {exc}")
            log.warning("job %s failed: %s", job.job_id, job.error)
        finally:
            self._active.pop(job.job_id, None)
            self._wake.set()
        if final is not None:
            self._finish(job, final)

    def _finish(self, job: Job, status: str) -> None:
        job.status = status
        job.finished_at = time.time()
        self.store.set_job_status(job.job_id, status, job.error)
        job.hub.set_status(status)
        log.info("job %s %s", job.job_id, status)

    def _clean(self, text: str) -> str:
        return redact(text, self.settings.api_key, self.settings.token)

    def _backend(self, prepared: Prepared) -> AbstractAsyncContextManager[Prepared]:
        return with_server(prepared, self.settings.sim_backend)

    # -- shutdown ----------------------------------------------------------------------
    async def shutdown(self, grace: float) -> None:
        """Stop taking work; running jobs get ``grace`` seconds to stop at a checkpoint."""
        self.accepting = False
        tasks = [j.task for j in self._active.values() if j.task is not None]
        for job in list(self._active.values()):
            if job.run is not None:
                job.run.request_stop("shutdown")
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace) if grace > 0 else (set(), set(tasks))
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
