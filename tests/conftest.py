"""Shared fixtures: the simulated server on an ephemeral loopback port, a temporary store,
the seed's real datasets (tests using them skip where ``../shared/data`` is absent), and
real vLLM servers for tests marked ``vllm`` (``tests/realvllm.py``, docs/real-vllm.md)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from policybench.bench.sim import SimConfig, serve_in_background
from policybench.service.resources import shipped
from policybench.service.store import Store

from . import realvllm

# Property tests draw the same examples on every run (derandomize: seeded from each test),
# so the suite is green or red the same way every time; HYPOTHESIS_PROFILE=explore draws
# new examples on each run, to hunt for bugs.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SEED_DATA = SHARED_DATA / "seed"
BALANCED = shipped("datasets") / "balanced.jsonl"


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


SimFactory = Callable[..., AbstractAsyncContextManager[tuple[str, Any]]]


@pytest.fixture
def sim() -> SimFactory:
    """``async with sim(datasets=[...], error_rate=0, ...) as (url, app):`` -- a real server."""

    def factory(**kwargs: Any) -> AbstractAsyncContextManager[tuple[str, Any]]:
        kwargs.setdefault("time_scale", 0.0)
        datasets = kwargs.pop("datasets", (BALANCED,))
        config = SimConfig(datasets=tuple(str(d) for d in datasets), **kwargs)
        return serve_in_background(config)

    return factory


@pytest.fixture
async def sim_url(sim: SimFactory) -> AsyncIterator[str]:
    async with sim() as (url, _app):
        yield url


#: a server start (about 45 s on two cores, more on a loaded machine) counts against the
#: test that first asks for it
VLLM_TEST_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "vllm" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.vllm)
        if item.get_closest_marker("vllm") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(VLLM_TEST_TIMEOUT))


_POOLS: list[realvllm.VllmPool] = []


@pytest.fixture(scope="session")
def vllm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[realvllm.VllmPool]:
    """Real vLLM servers, started lazily per model and shared by the whole session."""
    realvllm.require_vllm()
    python = realvllm.vllm_python()
    assert python is not None
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    models = Path(cache.mkdir("tiny-models")) if cache else tmp_path_factory.mktemp("models")
    pool = realvllm.VllmPool(python, tmp_path_factory.mktemp("vllm"), models)
    _POOLS.append(pool)
    try:
        yield pool
    finally:
        pool.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for pool in _POOLS:
        for line in realvllm.summarize(pool):
            terminalreporter.write_line(line)
