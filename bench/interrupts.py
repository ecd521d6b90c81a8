"""Ctrl-C and SIGTERM: the one module of ``bench`` that installs signal handlers.

* :func:`graceful_interrupts` (``bench run``, ``bench matrix``): the first signal prints
  what happens next and calls ``stop`` (no new requests, in-flight ones get the grace
  period, see ``Run.request_stop``); a second one cancels the current task at once.
* :func:`stop_on_signal` (``bench serve``, ``bench sim``): an event set by the first signal;
  the server's own shutdown (``JobQueue.shutdown`` for the service) runs after it.
* :func:`interrupt_on_signal`: outside an event loop (the metrics linger after a run).
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


@contextlib.contextmanager
def stop_on_signal() -> Iterator[asyncio.Event]:
    """An event the first SIGINT/SIGTERM sets (inside a running loop)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in _SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in _SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


@contextlib.contextmanager
def interrupt_on_signal(interrupt: Callable[[], None]) -> Iterator[None]:
    """Call ``interrupt`` on SIGINT/SIGTERM while blocking code runs outside a loop."""
    previous = {sig: signal.signal(sig, lambda *_: interrupt()) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
