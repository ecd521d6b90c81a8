"""Pointing a prepared run at its server: the one place that swaps in the simulator.

A run with ``backend="simulated"`` names no server of its own; whoever runs it supplies a
:data:`SimBackend` (``async with backend(prepared) as base_url``).  The CLI's starts the
built-in simulator in-process (bench/sim_backend.py); the engine cannot, since it never
imports ``bench``.  ``bench run``, ``bench matrix`` and the service's job queue all go
through :func:`with_server`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from .errors import PolicybenchError

if TYPE_CHECKING:
    from .runner import Prepared

#: ``async with backend(prepared) as base_url``: where a simulated run sends its requests.
SimBackend = Callable[["Prepared"], AbstractAsyncContextManager[str]]


@contextlib.asynccontextmanager
async def with_server(prepared: Prepared, simulator: SimBackend | None) -> AsyncIterator[Prepared]:
    """``prepared`` pointed at its server: ``simulator``'s, when the run is simulated."""
    if prepared.config.backend != "simulated":
        yield prepared
        return
    if simulator is None:
        raise PolicybenchError("no simulator here for a simulated run")
    async with simulator(prepared) as url:
        config = prepared.config.model_copy(update={"base_url": url})
        yield dataclasses.replace(prepared, config=config)
