"""Mounting the viewer at ``/ui`` in an application that already applies the service's
security middlewares (``bench serve``'s, or :mod:`.standalone`'s for ``bench view``)."""

from __future__ import annotations

from aiohttp import web

from ..store import Store
from .app import TOKEN, build_viewer


def mount_viewer(app: web.Application, store: Store, token: str | None) -> None:
    """Mount the viewer at ``/ui`` (``/ui`` itself redirects to ``/ui/``)."""
    viewer = build_viewer(store)
    if token:
        viewer[TOKEN] = token

    async def to_ui(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ui/")

    app.router.add_get("/ui", to_ui)
    app.add_subapp("/ui", viewer)
