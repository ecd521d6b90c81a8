"""Ctrl-C and SIGTERM for long commands: the first asks for a graceful stop, the second cancels.

Used by ``bench run`` and ``bench matrix`` so both behave the same way: the first signal
prints what happens next and calls ``stop`` (no new requests, in-flight ones get the grace
period); a second one cancels the current task at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(slots=True)
class Presses:
    count: int = 0


@contextlib.contextmanager
def graceful_interrupts(stop: Callable[[], None], message: str, console: Any) -> Iterator[Presses]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    presses = Presses()

    def on_signal() -> None:
        presses.count += 1
        if presses.count == 1:
            console.print(f"\n[yellow]stopping:[/yellow] {message} (Ctrl-C again to cancel them)")
            stop()
        elif task is not None:
            task.cancel()

    for sig in _SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
    try:
        yield presses
    finally:
        for sig in _SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
