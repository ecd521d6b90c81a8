"""``bench view``'s application: the viewer alone, behind the same security middlewares
and settings rules as ``bench serve`` (loopback by default, a token anywhere else)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from ..api.security import auth_middleware, errors_middleware
from ..api.settings import ServiceConfig
from ..store import Store
from .mount import mount_viewer


def viewer_app(settings: ServiceConfig, store: Store) -> web.Application:
    settings.check()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[auth_middleware(settings), errors_middleware(settings.max_body_bytes)],
    )

    async def to_ui(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ui/")

    app.router.add_get("/", to_ui)
    mount_viewer(app, store, settings.token)
    return app


@contextlib.asynccontextmanager
async def serve_viewer(settings: ServiceConfig, store: Store) -> AsyncIterator[str]:
    """Serve the viewer on ``settings.host:port`` (0 = ephemeral); yields its base URL."""
    runner = web.AppRunner(viewer_app(settings, store), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        port = int(runner.addresses[0][1])
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
