"""The built-in simulator as the server of a simulated run (``--sim``, ``sim: true``).

The engine's :func:`~policybench.service.backends.with_server` swaps a simulated run's
server for the :data:`~policybench.service.backends.SimBackend` it is given; this is the
one the front ends give it: an in-process simulated server that knows the run's dataset.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from policybench.service.backends import with_server
from policybench.service.runner import Prepared, models_of

from .sim import serve_in_background, sim_config_from_settings


@contextlib.asynccontextmanager
async def simulated_server(prepared: Prepared) -> AsyncIterator[str]:
    """A simulated server for one simulated run; yields its base URL."""
    config = prepared.config
    settings = config.sim.chosen() if config.sim is not None else {}
    sim_config = sim_config_from_settings(
        settings, datasets=(str(prepared.dataset_path),), model=config.model
    )
    # it serves every model the run names (an ensemble's members), as a real server would
    # have to for the preflight to pass
    sim_config = dataclasses.replace(sim_config, also_serves=models_of(prepared))
    async with serve_in_background(sim_config) as (url, _app):
        yield url


def server_for(prepared: Prepared) -> AbstractAsyncContextManager[Prepared]:
    """``prepared`` pointed at its server: the in-process simulator when simulated."""
    return with_server(prepared, simulated_server)
