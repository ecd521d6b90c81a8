"""Batched record writes, off the event loop.

The dispatcher appends finished records to a buffer (no I/O on the hot path); this task
flushes it in one transaction per batch from a worker thread.  On close or cancellation
whatever is buffered is flushed before the task ends, so a Ctrl-C loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from .store import Store

Row = tuple[str, int, str, bytes]


class RecordWriter:
    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        batch_size: int = 256,
        interval: float = 0.5,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # ``clock``: the run's dispatch seconds so far, stored with every batch
        self._clock = clock
        self._store = store
        self._run_id = run_id
        self._batch_size = batch_size
        self._interval = interval
        self._buffer: list[Row] = []
        self._wake = asyncio.Event()
        self._closed = False
        self.written = 0

    def put(self, row: Row) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                self._wake.clear()
                batch, self._buffer = self._buffer, []
                if batch:
                    await asyncio.to_thread(
                        self._store.insert_records, self._run_id, batch, self._seconds()
                    )
                    self.written += len(batch)
                if self._closed and not self._buffer:
                    return
        finally:
            # cancelled mid-flush or with a buffer: write what is left synchronously
            if self._buffer:
                batch, self._buffer = self._buffer, []
                self._store.insert_records(self._run_id, batch, self._seconds())
                self.written += len(batch)

    def _seconds(self) -> float | None:
        return None if self._clock is None else self._clock()
