"""The listening socket under load: a cap on open connections and an overload logged once.

A flood of slow or half-open connections must not starve ``/healthz`` nor exhaust file
descriptors (asyncio then logs a traceback on every failed ``accept``).  Three guards, all
before any request is parsed or authenticated:

* aiohttp closes a connection that has not sent a complete request within its keep-alive
  timeout, which the service sets to ``header_timeout`` (see :func:`runner_options`);
* :class:`GuardedSite` holds at most ``max_connections``: at the cap the oldest connections
  with no request in progress are closed to make room (a busy one is never cut off), and
  the overload is logged once per episode, not once per connection;
* :func:`raise_file_limit` lifts the process's soft descriptor limit to its hard limit and
  returns how many connections fit under it with room to spare for the store and upstreams.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("policybench.service")

#: Descriptors kept free of client connections: the store, upstream sessions, logs.
_RESERVED_FDS = 64


def raise_file_limit() -> int:
    """Soft ``RLIMIT_NOFILE`` raised to the hard limit; the connections it leaves room for."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(8, soft - _RESERVED_FDS)


def runner_options(header_timeout: float) -> dict[str, Any]:
    """Keyword arguments for :class:`web.AppRunner`: idle and half-sent connections closed."""
    return {"keepalive_timeout": header_timeout}


class _Refused(asyncio.Protocol):
    """A connection over the cap with nothing to evict: answered 503 and closed unread."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
            b"Connection: close\r\nRetry-After: 1\r\n\r\n"
        )
        transport.close()


def _idle(handler: RequestHandler) -> bool:
    """No request in progress: waiting for (the rest of) a request's headers, or idle."""
    # aiohttp keeps this flag private; a handler without it counts as busy (never evicted).
    return not getattr(handler, "_request_in_progress", True)


class GuardedSite(web.TCPSite):
    """A TCP site that never holds more than ``max_connections`` connections.

    At the cap, a new connection evicts the oldest connections that have no request in
    progress (half-sent headers, idle keep-alive), so a flood of slow clients cannot lock
    out ``/healthz`` or a real submission; only when every connection is busy is the new
    one refused with a 503.  The overload is logged once per episode.
    """

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int
    ) -> None:
        super().__init__(runner, host, port)
        self.max_connections = max_connections
        self.evicted = 0
        self.refused = 0
        self._overloaded = False

    def _factory(self) -> asyncio.Protocol:
        server = self._runner.server
        assert server is not None
        open_now = server.connections  # oldest first
        excess = len(open_now) - self.max_connections + 1
        if excess > 0:
            if not self._overloaded:
                self._overloaded = True
                log.warning(
                    "overload: %d connections open (the cap); closing the oldest idle ones",
                    len(open_now),
                )
            for handler in [h for h in open_now if _idle(h)][:excess]:
                handler.force_close()
                self.evicted += 1
                excess -= 1
            if excess > 0:
                self.refused += 1
                return _Refused()
        elif self._overloaded and len(open_now) < self.max_connections // 2:
            self._overloaded = False
            log.info(
                "overload over: %d idle connections closed, %d refused so far",
                self.evicted,
                self.refused,
            )
        return server()

    async def start(self) -> None:
        self._runner._reg_site(self)  # what BaseSite.start does
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._factory, self._host, self._port, backlog=self._backlog, reuse_address=True
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]
