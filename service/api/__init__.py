"""The HTTP batch service: ``bench serve`` runs this aiohttp application.

It accepts benchmark jobs over HTTP, queues them in the run store, runs a bounded number
at once under a shared per-endpoint in-flight cap, streams their progress as server-sent
events and serves their results.  It imports only the engine (``service``), never the CLI.
"""

from .app import build_app, serve
from .settings import ServiceConfig

__all__ = ["ServiceConfig", "build_app", "serve"]
