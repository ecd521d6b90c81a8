"""Several servers as one: least-outstanding routing, failover with probing, prefix affinity.

Each request goes to the healthy endpoint with the fewest requests outstanding.  An
endpoint that fails ``failure_threshold`` times in a row (connection errors, timeouts,
5xx) is taken out for ``probe_after`` seconds, then gets traffic again as a probe: one
success brings it back, one failure takes it out again.  Requests that share a system
prompt (a gauntlet's requests for one policy) prefer the same endpoint while its load is
within ``affinity_slack`` of the least loaded one, so that server's prefix cache stays warm.
The dispatcher's retries do the failing over: a retried request is routed afresh.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .client import Completion
from .client_types import NativeRequest, UserInput
from .errors import HTTPStatusError, RequestError


class ChatLike(Protocol):
    async def __aenter__(self) -> Any: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def chat(
        self,
        system: str,
        user: UserInput,
        model: str | None = None,
        reasoning_effort: str | None = None,
    ) -> Completion: ...
    async def send(self, request: NativeRequest) -> Completion: ...


@dataclass(slots=True)
class Endpoint:
    url: str
    client: ChatLike
    outstanding: int = 0
    requests: int = 0
    errors: int = 0
    consecutive_failures: int = 0
    down_until: float = 0.0
    times_taken_out: int = 0
    latency_total: float = 0.0
    latencies: int = field(default=0)

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "times_taken_out": self.times_taken_out,
            "mean_latency_seconds": self.latency_total / self.latencies if self.latencies else None,
        }


def _counts_against_endpoint(exc: RequestError) -> bool:
    """Failures that say the endpoint is unwell (not that the request was bad)."""
    if isinstance(exc, HTTPStatusError):
        return exc.status is not None and exc.status >= 500
    return exc.retryable


class EndpointPool:
    def __init__(
        self,
        endpoints: Sequence[tuple[str, ChatLike]],
        *,
        failure_threshold: int = 3,
        probe_after: float = 5.0,
        affinity_slack: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint")
        self.endpoints = [Endpoint(url, client) for url, client in endpoints]
        self._threshold = failure_threshold
        self._probe_after = probe_after
        self._slack = affinity_slack
        self._clock = clock
        self._affinity: dict[str, int] = {}

    async def __aenter__(self) -> EndpointPool:
        for ep in self.endpoints:
            await ep.client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ep in self.endpoints:
            await ep.client.__aexit__(*exc)

    def pick(self, system: str) -> Endpoint:
        now = self._clock()
        healthy = [e for e in self.endpoints if e.down_until <= now]
        if not healthy:  # everything is out: probe the one that went out first
            return min(self.endpoints, key=lambda e: e.down_until)
        least = min(healthy, key=lambda e: e.outstanding)
        preferred_index = self._affinity.get(system)
        if preferred_index is None:
            preferred_index = self._affinity[system] = zlib.crc32(system.encode()) % len(
                self.endpoints
            )
        preferred = self.endpoints[preferred_index]
        if preferred.down_until <= now and preferred.outstanding <= least.outstanding + self._slack:
            return preferred
        return least

    async def chat(
        self,
        system: str,
        user: UserInput,
        model: str | None = None,
        reasoning_effort: str | None = None,
    ) -> Completion:
        return await self._call(system, lambda c: c.chat(system, user, model, reasoning_effort))

    async def send(self, request: NativeRequest) -> Completion:
        return await self._call(request.affinity, lambda c: c.send(request))

    async def _call(
        self, affinity: str, call: Callable[[ChatLike], Awaitable[Completion]]
    ) -> Completion:
        ep = self.pick(affinity)
        ep.outstanding += 1
        ep.requests += 1
        try:
            completion = await call(ep.client)
        except RequestError as exc:
            ep.errors += 1
            if _counts_against_endpoint(exc):
                ep.consecutive_failures += 1
                if ep.consecutive_failures >= self._threshold or ep.down_until > 0:
                    ep.down_until = self._clock() + self._probe_after
                    ep.times_taken_out += 1
            raise
        finally:
            ep.outstanding -= 1
        ep.consecutive_failures = 0
        ep.down_until = 0.0
        ep.latency_total += completion.latency
        ep.latencies += 1
        return completion

    def figures(self) -> dict[str, dict[str, Any]]:
        return {ep.url: ep.figures() for ep in self.endpoints}
