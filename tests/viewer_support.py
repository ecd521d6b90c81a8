"""Shared by the viewer's tests: stored runs made through real HTTP against the simulator,
an independent recount from raw records, and the viewer served on a loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from policybench.service.api import ServiceConfig
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from policybench.service.viewer.standalone import viewer_app

from .conftest import BALANCED, SimFactory

TOKEN = "v" * 24


async def sim_run(sim: SimFactory, store: Store, error_rate: float, seed: int) -> str:
    async with sim(datasets=[BALANCED], error_rate=error_rate, seed=seed) as (url, _app):
        config = build_run_config({"dataset": str(BALANCED), "base_url": url, "concurrency": 16})
        result = await Run(prepare(config), store).execute()
    assert result.status == "success"
    return result.run_id


def false_negatives(store: Store, run_id: str, category: str) -> list[dict[str, Any]]:
    """Records whose gold has ``category`` and whose verdict does not (or failed)."""
    return [
        r
        for r in store.iter_records(run_id)
        if category in (r["gold"]["labels"] or ())
        and (r["predicted"] is None or category not in r["predicted"])
    ]


def right(record: dict[str, Any]) -> bool:
    return record["outcome"] == "correct"


@contextlib.asynccontextmanager
async def viewer(store: Store, **settings: Any) -> AsyncIterator[str]:
    """The ``bench view`` application on an ephemeral loopback port; yields its base URL."""
    app = viewer_app(ServiceConfig(port=0, **settings), store)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, settings.get("host", "127.0.0.1"), 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
