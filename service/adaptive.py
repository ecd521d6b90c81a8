"""``--concurrency auto``: find the knee of the server's throughput curve and sit on it.

Throughput, not latency, is what this tool wants from a server, and latency alone is a
poor guide to the knee: on a real continuous-batching server each engine step gets
slower as the batch grows, so latency rises well before the batch is full.  So the
controller climbs the throughput curve directly, one window of completed requests at a
time (the first window after a change is skipped while the pipeline refills):

1. *slow start*: double the limit while doubling adds at least ``gain`` (10%) throughput;
2. at the first doubling that does not pay, the knee lies between the last two limits;
3. *settle*: step down by ``1/step`` (20%) while that costs less than ``tolerance`` (3%)
   throughput, and undo the step that does: the limit ends at the smallest one that
   still keeps the server saturated;
4. every ``reprobe`` windows it tries one step up, and keeps it only if throughput grows,
   so a server that speeds up (another tenant leaves) is noticed.

A 429 or 503 halves the limit at once.  The limits it chose are kept in ``history`` for
the run summary and the ``policybench_concurrency_limit`` metric.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import RequestError
from .limiter import Limiter
from .observer import BaseObserver
from .records import RequestOutcome

#: HTTP statuses that say the server is overloaded: the limit halves at once.
_OVERLOAD_STATUSES = frozenset({429, 503})


class AdaptiveController(BaseObserver):
    def __init__(
        self,
        limiter: Limiter,
        *,
        initial: int = 4,
        minimum: int = 1,
        maximum: int = 1024,
        min_window: int = 16,
        gain: float = 0.10,
        tolerance: float = 0.03,
        step: float = 1.25,
        reprobe: int = 8,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._limiter = limiter
        self._min, self._max = minimum, maximum
        self._min_window = min_window
        self._gain, self._tolerance, self._step = gain, tolerance, step
        self._reprobe = reprobe
        self._clock = clock
        self._phase = "start"  # start -> settle -> hold (<-> probe)
        self._skip = True  # the first window after a change is a transient
        self._count = 0
        self._window_start = clock()
        self._prev: tuple[int, float] | None = None  # (limit, throughput) before the last move
        self._held = 0
        self.history: list[int] = []
        self._apply(initial)

    @property
    def limit(self) -> int:
        return self._limiter.limit

    def on_retry(self, key: str, error: RequestError, attempt: int) -> None:
        # a 429/503 that a retry later gets past still says the server is overloaded
        if error.status in _OVERLOAD_STATUSES:
            self._back_off()

    def on_request(self, outcome: RequestOutcome) -> None:
        if outcome.error_status in _OVERLOAD_STATUSES:
            self._back_off()
            return
        self._count += 1
        if self._count < max(self._min_window, self._limiter.limit):
            return
        now = self._clock()
        elapsed = now - self._window_start
        throughput = self._count / elapsed if elapsed > 0 else 0.0
        self._count = 0
        self._window_start = now
        if self._skip:
            self._skip = False
            return
        self._decide(throughput)

    def _back_off(self) -> None:
        self._phase = "hold"
        self._prev = None
        self._apply(max(self._min, self._limiter.limit // 2))

    def _decide(self, throughput: float) -> None:
        limit = self._limiter.limit
        prev = self._prev
        if self._phase == "start":
            if prev is None or throughput >= prev[1] * (1 + self._gain):
                if limit >= self._max:
                    self._phase = "hold"
                    return
                self._move(limit, throughput, limit * 2)
            else:  # doubling did not pay: the knee is below `limit`; walk down to it
                self._phase = "settle"
                self._move(limit, throughput, limit / self._step)
        elif self._phase == "settle":
            assert prev is not None
            if throughput >= prev[1] * (1 - self._tolerance):
                self._move(limit, max(throughput, prev[1]), limit / self._step)
            else:  # that step cost throughput: undo it and hold there
                self._phase = "hold"
                self._prev = None
                self._apply(prev[0])
        elif self._phase == "hold":
            self._held += 1
            if self._held >= self._reprobe:
                self._held = 0
                self._phase = "probe"
                self._move(limit, throughput, limit * self._step)
        else:  # probe: keep the step up only if it paid
            assert prev is not None
            self._phase = "hold"
            if throughput < prev[1] * (1 + self._tolerance):
                self._prev = None
                self._apply(prev[0])

    def _move(self, limit: int, throughput: float, target: float) -> None:
        self._prev = (limit, throughput)
        self._apply(round(target))

    def _apply(self, value: int) -> None:
        value = min(self._max, max(self._min, value))
        if value != self._limiter.limit or not self.history:
            self._limiter.set_limit(value)
            self.history.append(value)
            self._skip = True
            self._count = 0
            self._window_start = self._clock()
