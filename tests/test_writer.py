"""The record writer: batched, flushed on close, and bounded when the store falls behind."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from policybench.service.store import Store
from policybench.service.writer import RecordWriter


class GatedStore(Store):
    """A real store whose writes wait until the test opens a gate (a slow disk)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()

    def insert_records(self, *args: object, **kwargs: object) -> None:
        self.gate.wait(10)
        super().insert_records(*args, **kwargs)  # type: ignore[arg-type]


def _create(store: Store) -> None:
    store.create_run(
        run_id="r",
        config={},
        dataset="d",
        dataset_fingerprint="f",
        samples_total=5000,
        policy_set="p",
        policy_hash="h",
        model="m",
        strategy="multi",
        backend="server",
        version="0",
        git_rev=None,
    )


async def test_backpressure_when_the_store_falls_behind(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "s.sqlite")
    _create(store)
    writer = RecordWriter(store, "r", batch_size=10, interval=0.01)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(writer.run())
        for i in range(100):  # ten batches' worth while the first flush is stuck
            writer.put((f"s{i}", i, "correct", b"{}"))
            await asyncio.sleep(0)
        waiting = tg.create_task(writer.room())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # over the high-water mark: the dispatcher must wait
        store.gate.set()
        await asyncio.wait_for(waiting, 5)
        writer.close()
    assert store.count_records("r") == 100
    store.close()


async def test_close_flushes_everything(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    _create(store)
    writer = RecordWriter(store, "r", batch_size=1000, interval=60)
    task = asyncio.create_task(writer.run())
    for i in range(7):
        writer.put((f"s{i}", i, "correct", b"{}"))
    writer.close()
    await asyncio.wait_for(task, 5)
    assert store.count_records("r") == 7
    store.close()
