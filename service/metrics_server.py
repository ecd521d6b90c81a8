"""Serve a registry's ``/metrics`` over HTTP: in the caller's event loop, or in a thread.

* :func:`metrics_handler` is the aiohttp handler: prometheus_client's own
  (``prometheus_client.aiohttp``, 0.21+) when the installed version has it, else a small
  one around ``generate_latest``.  A service mounts it on its own app.
* :func:`serve_metrics` runs a tiny aiohttp app on ``host:port`` (loopback by default;
  port 0 picks a free one) for the life of an ``async with`` block.
* :class:`MetricsServer` runs the same app on its own event loop in a daemon thread, so
  ``bench run`` can keep serving *after* its run's loop has ended (the linger that lets
  Prometheus scrape the final values) and a scrape never waits on the run's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def metrics_handler(registry: CollectorRegistry) -> Handler:
    """An aiohttp handler serving ``registry`` in the Prometheus text format."""
    try:
        from prometheus_client.aiohttp import make_aiohttp_handler
    except ImportError:  # prometheus_client < 0.21
        return _fallback_handler(registry)
    handler: Handler = make_aiohttp_handler(registry)
    return handler


def _fallback_handler(registry: CollectorRegistry) -> Handler:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    return handler


def metrics_app(registry: CollectorRegistry) -> web.Application:
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry))
    return app


@contextlib.asynccontextmanager
async def serve_metrics(
    registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[str, int]]:
    """Serve ``/metrics`` while the block runs; yields the bound ``(host, port)``."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.create_server((host, port), family=family)  # bound here: we know the port
    runner = web.AppRunner(metrics_app(registry), access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        bound = sock.getsockname()
        yield str(bound[0]), int(bound[1])
    finally:
        await runner.cleanup()
        sock.close()


class MetricsServer:
    """:func:`serve_metrics` in a daemon thread.  ``start()`` raises ``OSError`` if it
    cannot bind; ``linger(seconds)`` waits (interruptibly) before ``stop()``."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.address: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._wake = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        assert self.address is not None
        host, port = self.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/metrics"

    def start(self) -> MetricsServer:
        self._thread = threading.Thread(target=self._main, name="metrics-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve_metrics(self.registry, self.host, self.port) as address:
            self.address = address
            self._ready.set()
            await self._stop.wait()

    def linger(self, seconds: float) -> None:
        """Keep serving for ``seconds`` (or until :meth:`interrupt`), then return."""
        if seconds > 0:
            self._wake.wait(seconds)

    def interrupt(self) -> None:
        """End a :meth:`linger` early (safe from a signal handler)."""
        self._wake.set()

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already gone
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
