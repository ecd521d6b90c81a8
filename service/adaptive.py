"""``--concurrency auto``: a gradient controller that settles near the knee of the server's curve.

Below the knee, adding requests in flight adds throughput and latency stays flat; past it,
requests only queue and latency grows in proportion.  Every window of completed requests
the controller compares the window's median latency with the best (no-queue) latency seen
and sets ``limit = limit * min(1, best / current) + sqrt(limit)`` (smoothed), the gradient
rule of Netflix's concurrency-limits: it grows while latency is flat and stops where
queueing starts.  A 429 or 503 halves the limit at once.  The limit it chose is exposed
(``limit``, ``history``) for the run summary and metrics.
"""

from __future__ import annotations

import math
import statistics

from .limiter import Limiter
from .observer import BaseObserver
from .records import RequestOutcome

_OVERLOAD_KINDS = frozenset({"rate_limited", "http_503"})


class GradientController(BaseObserver):
    def __init__(
        self,
        limiter: Limiter,
        *,
        initial: int = 4,
        minimum: int = 1,
        maximum: int = 1024,
        smoothing: float = 0.5,
        min_window: int = 16,
    ) -> None:
        self._limiter = limiter
        self._min = minimum
        self._max = maximum
        self._smoothing = smoothing
        self._min_window = min_window
        self._limit = float(initial)
        self._best: float | None = None
        self._window: list[float] = []
        self.history: list[int] = [initial]
        limiter.set_limit(initial)

    @property
    def limit(self) -> int:
        return self._limiter.limit

    def on_request(self, outcome: RequestOutcome) -> None:
        if outcome.error_kind in _OVERLOAD_KINDS:
            self._set(self._limit * 0.5)
            self._window.clear()
            return
        if outcome.latency is None:
            return
        self._window.append(outcome.latency)
        if len(self._window) >= max(self._min_window, self._limiter.limit):
            self._update(statistics.median(self._window))
            self._window.clear()

    def _update(self, rtt: float) -> None:
        if rtt <= 0:
            return
        if self._best is None or rtt < self._best:
            self._best = rtt
        gradient = min(1.0, self._best / rtt)
        target = self._limit * gradient + math.sqrt(self._limit)
        self._set((1 - self._smoothing) * self._limit + self._smoothing * target)

    def _set(self, value: float) -> None:
        self._limit = min(float(self._max), max(float(self._min), value))
        new = int(round(self._limit))
        if new != self._limiter.limit:
            self._limiter.set_limit(new)
            self.history.append(new)
