"""Shared fixtures: the simulated server on an ephemeral loopback port, a temporary store,
and the seed's real datasets (tests using them skip where ``../shared/data`` is absent)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from policybench.bench.sim import SimConfig, serve_in_background
from policybench.service.config import RunConfig
from policybench.service.resources import shipped
from policybench.service.store import Store

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SEED_DATA = SHARED_DATA / "seed"
BALANCED = shipped("datasets") / "balanced.jsonl"
RUN_MODEL = RunConfig.model_fields["model"].default


def seed_file(name: str) -> Path:
    """A file of the seed's data, or skip the test where it is absent."""
    path = SEED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "runs.sqlite")
    yield s
    s.close()


def served_models(cfg: dict[str, Any]) -> tuple[str, ...]:
    """The model names a run config asks for (its model, each ensemble member's)."""
    members = cfg.get("ensemble_members") or ()
    named = [m.split("@", 1)[1] for m in members if "@" in m]
    return tuple(dict.fromkeys([*([cfg["model"]] if "model" in cfg else []), *named]))


SimFactory = Callable[..., AbstractAsyncContextManager[tuple[str, Any]]]


@pytest.fixture
def sim() -> SimFactory:
    """``async with sim(datasets=[...], error_rate=0, ...) as (url, app):`` -- a real server."""

    def factory(**kwargs: Any) -> AbstractAsyncContextManager[tuple[str, Any]]:
        kwargs.setdefault("time_scale", 0.0)
        kwargs.setdefault("model", RUN_MODEL)  # it serves the model runs ask for by default
        datasets = kwargs.pop("datasets", (BALANCED,))
        config = SimConfig(datasets=tuple(str(d) for d in datasets), **kwargs)
        return serve_in_background(config)

    return factory


@pytest.fixture
async def sim_url(sim: SimFactory) -> AsyncIterator[str]:
    async with sim() as (url, _app):
        yield url
