"""Batched record writes, off the event loop.

The dispatcher appends finished records to a buffer (no I/O on the hot path); this task
flushes it in one transaction per batch from a worker thread.  On close or cancellation
whatever is buffered is flushed before the task ends, so a Ctrl-C loses nothing.

The buffer is bounded: when the store falls behind (a slow disk, records carrying long
reasoning), :meth:`room` makes the dispatcher wait before it sends more, so memory stays
flat however long the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
        # at most this many records, and this many bytes of them, wait for the store
        self._high_water = batch_size * 8
        self._flush_bytes = 1024 * 1024  # records with long reasoning: flush by size too
        self._high_water_bytes = 4 * 1024 * 1024
        self._bytes = 0
        self._room = asyncio.Event()
        self._room.set()
        self._wake = asyncio.Event()
        self._closed = False
        self.written = 0
        # one dedicated thread for the writes; the store's connection is shared with the
        # event loop's reads (and a resume's replay) under the store's lock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policybench-writer")

    def put(self, row: Row) -> None:
        self._buffer.append(row)
        self._bytes += len(row[3])
        if len(self._buffer) >= self._batch_size or self._bytes >= self._flush_bytes:
            self._wake.set()
            if len(self._buffer) >= self._high_water or self._bytes >= self._high_water_bytes:
                self._room.clear()

    async def room(self) -> None:
        """Return at once unless the buffer is over its high-water mark; then wait for a flush."""
        if not self._room.is_set():
            await self._room.wait()

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
                self._bytes = 0
                if batch:
                    await asyncio.get_running_loop().run_in_executor(
                        self._thread,
                        self._store.insert_records,
                        self._run_id,
                        batch,
                        self._seconds(),
                    )
                    self.written += len(batch)
                if len(self._buffer) < self._high_water and self._bytes < self._high_water_bytes:
                    self._room.set()
                if self._closed and not self._buffer:
                    return
        finally:
            # let a flush that is under way finish, then write what is left synchronously
            self._thread.shutdown(wait=True)
            if self._buffer:
                batch, self._buffer = self._buffer, []
                self._store.insert_records(self._run_id, batch, self._seconds())
                self.written += len(batch)

    def _seconds(self) -> float | None:
        return None if self._clock is None else self._clock()
