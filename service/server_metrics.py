"""The server's side of a run: vLLM's own ``/metrics``, read around the dispatch phase.

The client measures what it sees (latency, throughput, tokens from ``usage``); the server
knows what it did: whether the shared policy prefix was really cached, how long requests
queued, how full its KV cache got, whether it preempted.  Where a server exposes vLLM's
Prometheus metrics (vLLM itself, the simulator, anything with the same names), the run
reads them at the start and at the end of dispatch, and samples them meanwhile for the
peaks, in a task owned by the run's task group.  The figures are the counters' changes
over the run (and the gauges' peaks), summed over the run's servers and the series of
its models:

* ``prefix_cache_hit_rate``: ``vllm:prefix_cache_hits`` / ``vllm:prefix_cache_queries`` (tokens);
* ``mean_queue_seconds``: ``vllm:request_queue_time_seconds`` sum / count;
* ``kv_cache_usage_peak``: the highest ``vllm:kv_cache_usage_perc`` seen (0-1);
* ``preemptions``: ``vllm:num_preemptions``; ``requests``: ``vllm:request_success``;
* ``prompt_tokens`` / ``generation_tokens``; ``running_peak`` / ``waiting_peak``;
  ``seconds`` between the first and the last reading (their rates' denominator).

A server shared with other clients counts their work too; the record says which servers
were read.  The text is parsed with prometheus_client's parser, in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

COUNTERS = {
    "vllm:prefix_cache_queries_total": "prefix_cache_queries",
    "vllm:prefix_cache_hits_total": "prefix_cache_hits",
    "vllm:num_preemptions_total": "preemptions",
    "vllm:request_success_total": "requests",
    "vllm:prompt_tokens_total": "prompt_tokens",
    "vllm:generation_tokens_total": "generation_tokens",
    "vllm:request_queue_time_seconds_sum": "queue_seconds",
    "vllm:request_queue_time_seconds_count": "queued_requests",
}
GAUGES = {
    "vllm:kv_cache_usage_perc": "kv_cache_usage",
    "vllm:num_requests_running": "running",
    "vllm:num_requests_waiting": "waiting",
}
#: Seconds between samples of the gauges while the run dispatches.
SAMPLE_EVERY = 1.0
_SCRAPE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    counters: dict[str, float]
    gauges: dict[str, float]


def parse_snapshot(text: str, models: Iterable[str] = ()) -> Snapshot | None:
    """The vLLM series of one ``/metrics`` text, summed over labels (only the series of
    ``models`` where they carry ``model_name``); ``None`` if it has no vLLM series."""
    wanted = set(models)
    counters: dict[str, float] = {}
    gauges: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = COUNTERS.get(sample.name) or GAUGES.get(sample.name)
            if name is None:
                continue
            model = sample.labels.get("model_name")
            if wanted and model is not None and model not in wanted:
                continue
            target = counters if sample.name in COUNTERS else gauges
            target[name] = target.get(name, 0.0) + sample.value
    if not counters and not gauges:
        return None
    return Snapshot(counters, gauges)


def metrics_url(base_url: str) -> str:
    """``http://host:8000/v1`` -> ``http://host:8000/metrics`` (vLLM serves both)."""
    base = base_url.rstrip("/")
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    return base + "/metrics"


@dataclass(slots=True)
class _Server:
    url: str
    start: Snapshot | None = None
    end: Snapshot | None = None
    peaks: dict[str, float] = field(default_factory=dict)

    def see(self, snap: Snapshot) -> None:
        for name, value in snap.gauges.items():
            self.peaks[name] = max(self.peaks.get(name, value), value)


class ServerMetrics:
    """``await begin()``; ``tg.create_task(watch())``; ``await end()``; then ``figures()``."""

    def __init__(
        self, base_urls: Sequence[str], models: Sequence[str], every: float = SAMPLE_EVERY
    ) -> None:
        self._servers = [_Server(metrics_url(u)) for u in dict.fromkeys(base_urls)]
        self._models = tuple(models)
        self._every = every
        self._done = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self.scrapes = 0
        self._began = self._ended = 0.0

    async def _scrape(self, server: _Server) -> Snapshot | None:
        session = self._session
        if session is None or session.closed:
            return None
        try:
            async with session.get(server.url) as resp:
                if resp.status != 200:
                    return None
                text = await resp.text()
            snap = await asyncio.to_thread(parse_snapshot, text, self._models)
        except Exception:  # a reading that fails is only a reading missed:
            return None  # it never fails the run (the figures then say n/a)
        if snap is not None:
            self.scrapes += 1
            server.see(snap)
        return snap

    async def begin(self) -> None:
        """The first reading; servers without vLLM's metrics are dropped."""
        timeout = aiohttp.ClientTimeout(total=_SCRAPE_TIMEOUT)
        self._session = aiohttp.ClientSession(timeout=timeout)
        snaps = await asyncio.gather(*(self._scrape(s) for s in self._servers))
        self._began = time.perf_counter()
        for server, snap in zip(self._servers, snaps, strict=True):
            server.start = snap
        self._servers = [s for s in self._servers if s.start is not None]
        if not self._servers:
            self._done.set()

    async def watch(self) -> None:
        """Sample the gauges every ``every`` seconds until :meth:`end` (or :meth:`close`)."""
        while not self._done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), self._every)
                return
            await asyncio.gather(*(self._scrape(s) for s in self._servers))

    async def end(self) -> None:
        """The last reading (after the run's requests are answered)."""
        self._done.set()
        if self._servers and self._session is not None:
            snaps = await asyncio.gather(*(self._scrape(s) for s in self._servers))
            self._ended = time.perf_counter()
            for server, snap in zip(self._servers, snaps, strict=True):
                server.end = snap
        await self.close()

    async def close(self) -> None:
        self._done.set()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def figures(self) -> dict[str, Any] | None:
        """The server's own figures for the run, or ``None`` where no server exposes them."""
        read = [s for s in self._servers if s.start is not None and s.end is not None]
        if not read:
            return None
        delta: dict[str, float] = {}
        for server in read:
            assert server.start is not None and server.end is not None
            for name, value in server.end.counters.items():
                delta[name] = delta.get(name, 0.0) + value - server.start.counters.get(name, 0.0)

        def peak(name: str) -> float | None:
            values = [s.peaks[name] for s in read if name in s.peaks]
            return max(values) if values else None

        def count(name: str) -> int | None:
            return round(delta[name]) if name in delta else None

        queries, hits = delta.get("prefix_cache_queries"), delta.get("prefix_cache_hits")
        queued, queue_seconds = delta.get("queued_requests"), delta.get("queue_seconds")
        return {
            "prefix_cache_hit_rate": hits / queries if queries and hits is not None else None,
            "mean_queue_seconds": queue_seconds / queued
            if queued and queue_seconds is not None
            else None,
            "kv_cache_usage_peak": peak("kv_cache_usage"),
            "preemptions": count("preemptions"),
            "requests": count("requests"),
            "prompt_tokens": count("prompt_tokens"),
            "generation_tokens": count("generation_tokens"),
            "running_peak": peak("running"),
            "waiting_peak": peak("waiting"),
            "scrapes": self.scrapes,
            "seconds": self._ended - self._began,  # between the first and the last reading
            "metrics_urls": [s.url for s in read],
        }
