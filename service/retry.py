"""Retry decisions as values.

429 is a rate limit (its ``Retry-After`` is honoured), 408/5xx, dropped connections,
timeouts and unusable 2xx bodies are transient; anything else fails at once.  Attempts
are bounded, delays grow exponentially with full jitter, and a total deadline
(``total_timeout``, ``bench run --total-timeout``) caps the time one request may take
across its attempts: no retry waits past it, and the dispatcher cuts an attempt that
runs into it (service/runner.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC

from .errors import RequestError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: Upper bound for an honoured ``Retry-After`` (a server asking for an hour is not obeyed).
    max_retry_after: float = 120.0
    #: Seconds one request may take over all its attempts; ``None`` for no limit.
    total_timeout: float | None = None

    def delay(
        self,
        attempt: int,
        error: RequestError,
        rng: random.Random | None = None,
        elapsed: float = 0.0,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up.

        ``attempt`` counts from 1 (the attempt that just failed); ``elapsed`` is the time
        the request has taken so far (a wait that would end past ``total_timeout`` is not
        worth starting).
        """
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if error.retry_after is not None:
            wait = min(max(error.retry_after, 0.0), self.max_retry_after)
        else:
            cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
            wait = (rng or random).uniform(0.0, cap)
        if self.total_timeout is not None and elapsed + wait >= self.total_timeout:
            return None
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
