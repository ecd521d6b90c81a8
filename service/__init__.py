"""policybench's engine: everything that runs a benchmark job, usable as a library.

The engine never prints and never reads argv or the environment: callers build a
validated :class:`~policybench.service.config.RunConfig` at their edge and pass it in,
and watch progress through an observer (:mod:`policybench.service.observer`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("policybench")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"
