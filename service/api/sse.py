"""Live progress of one job as server-sent events, fed by a :class:`RunObserver`.

The hub keeps only the latest state and a version number; every subscriber sends the
newest snapshot when the version moved (at most ``max_rate`` events a second), so a slow
client coalesces updates instead of queueing them, and the hot path does no more than
bump a counter and wake waiters, if any.

Events: ``progress`` (``data`` is the snapshot, JSON) while the job is queued or running,
then one ``end`` with the final status and summary, after which the stream closes.  A
comment line is sent every ``heartbeat`` seconds so proxies keep the connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from ..observer import BaseObserver

if TYPE_CHECKING:
    from ..records import SampleResult
    from ..runner import RunHandle
    from ..scoring import Scorer
    from ..summary import RunSummary

FINAL = frozenset({"done", "cancelled", "failed"})


class ProgressHub(BaseObserver):
    """One job's progress: an observer on its run, read by the API and the event streams."""

    def __init__(self) -> None:
        self.version = 0
        self.status = "queued"
        self.total: int | None = None
        self.resumed = False
        self.summary: RunSummary | None = None
        self._scorer: Scorer | None = None
        self._completed = 0
        self._started = 0.0
        self._done_here = 0
        self._event: asyncio.Event | None = None

    # -- observer hooks (event loop, cheap) --------------------------------------------
    def on_start(self, run: RunHandle) -> None:
        self.total = run.total
        self.resumed = run.resumed
        self._completed = run.already_done
        self._started = time.perf_counter()
        self._done_here = 0
        self._bump()

    def on_sample(self, result: SampleResult, scorer: Scorer) -> None:
        self._scorer = scorer
        self._done_here += 1
        self._bump()

    def on_finish(self, run: RunHandle, summary: RunSummary) -> None:
        self.summary = summary
        self._bump()

    def set_status(self, status: str) -> None:
        self.status = status
        self._bump()

    def _bump(self) -> None:
        self.version += 1
        event = self._event
        if event is not None:
            self._event = None
            event.set()

    async def changed(self, version: int) -> None:
        """Return once ``self.version != version``."""
        while self.version == version:
            if self._event is None:
                self._event = asyncio.Event()
            await self._event.wait()

    # -- reading -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        scorer = self._scorer
        completed = scorer.completed if scorer is not None else self._completed
        out: dict[str, Any] = {
            "status": self.status,
            "total": self.total,
            "completed": completed,
            "resumed": self.resumed,
        }
        if scorer is not None:
            totals = scorer.totals
            elapsed = time.perf_counter() - self._started
            out["errors"] = totals.errors
            out["parse_failures"] = totals.parse_failures
            out["multi_policy_accuracy"] = scorer.running_multi_accuracy
            out["binary_accuracy"] = scorer.running_binary_accuracy
            out["samples_per_hour"] = self._done_here * 3600.0 / elapsed if elapsed > 0 else None
        return out


def _event(name: str, version: int, data: dict[str, Any]) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (version, name.encode(), orjson.dumps(data))


async def stream_events(
    request: web.Request,
    hub: ProgressHub,
    base: dict[str, Any],
    closing: asyncio.Event,
    *,
    max_rate: float = 10.0,
    heartbeat: float = 15.0,
) -> web.StreamResponse:
    """Serve ``hub`` as ``text/event-stream`` until the job ends or the service closes."""
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    sent = -1
    gap = 1.0 / max_rate
    closed = asyncio.ensure_future(closing.wait())
    try:
        while True:
            if hub.version != sent:
                sent = hub.version
                data = {**base, **hub.snapshot()}
                if hub.status in FINAL:
                    data["summary"] = None if hub.summary is None else hub.summary.to_json()
                    await resp.write(_event("end", sent, data))
                    break
                await resp.write(_event("progress", sent, data))
                await asyncio.wait({closed}, timeout=gap)  # rate limit; coalesce updates
                if closed.done():
                    break
                continue
            change = asyncio.ensure_future(hub.changed(sent))
            try:
                done, _ = await asyncio.wait(
                    {change, closed}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                change.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await change
            if closed in done:
                break
            if not done:
                await resp.write(b": keep-alive\n\n")
    finally:
        closed.cancel()
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp
