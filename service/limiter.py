"""A resizable concurrency limit with FIFO hand-over and a close that wakes every waiter.

The dispatcher takes a slot *before* it creates a request task (so tasks never pile up
ahead of the limit), and closes the limiter to stop dispatching at once on Ctrl-C.  The
limit can change while requests are in flight (for adaptive concurrency).
"""

from __future__ import annotations

import asyncio
from collections import deque


class Limiter:
    __slots__ = ("_closed", "_in_flight", "_limit", "_waiters")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self._limit = limit
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._closed = False

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def closed(self) -> bool:
        return self._closed

    async def acquire(self) -> bool:
        """Take a slot; ``False`` (and no slot) once the limiter is closed."""
        if self._closed:
            return False
        if self._in_flight < self._limit and not self._waiters:
            self._in_flight += 1
            return True
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.result():
                self.release()
            raise

    def release(self) -> None:
        self._in_flight -= 1
        self._wake()

    def set_limit(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._wake()

    def close(self) -> None:
        """Refuse further slots and wake every waiter with ``False``."""
        self._closed = True
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(False)

    def _wake(self) -> None:
        while self._waiters and self._in_flight < self._limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self._in_flight += 1
                fut.set_result(True)
