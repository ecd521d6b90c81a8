"""A fixed-memory latency histogram with 1% relative error, for p50/p90/p99 over any run length.

Keeping every latency would make memory grow with the dataset; log-spaced buckets
(ratio 1.01 from 100 us to about 28 h) keep it at a few kilobytes.
"""

from __future__ import annotations

import math
from array import array

_MIN = 1e-4
_RATIO = 1.01
_LOG_RATIO = math.log(_RATIO)
_BUCKETS = 2100


class LogHistogram:
    __slots__ = ("_counts", "count", "max", "total")

    def __init__(self) -> None:
        self._counts = array("Q", bytes(8 * _BUCKETS))
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, value: float) -> None:
        index = (
            0 if value <= _MIN else min(_BUCKETS - 1, int(math.log(value / _MIN) / _LOG_RATIO) + 1)
        )
        self._counts[index] += 1
        self.count += 1
        self.total += value
        if value > self.max:
            self.max = value

    def quantile(self, q: float) -> float | None:
        """Value at quantile ``q`` (0-1), within 1%; ``None`` when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index, c in enumerate(self._counts):
            seen += c
            if seen >= rank:
                if index == 0:
                    return _MIN
                # geometric middle of the bucket, capped by the largest value seen
                return float(min(self.max, _MIN * _RATIO ** (index - 0.5)))
        return self.max  # pragma: no cover

    def percentiles(self) -> dict[str, float | None]:
        return {"p50": self.quantile(0.5), "p90": self.quantile(0.9), "p99": self.quantile(0.99)}
