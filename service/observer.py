"""Observers: how the engine reports progress without printing.

The CLI plugs in a rich progress bar, the metrics module a Prometheus exporter, the
HTTP service an event stream.  Hooks run on the event loop and must be cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .errors import RequestError
    from .records import RequestOutcome, SampleResult
    from .runner import RunHandle
    from .scoring import Scorer
    from .summary import RunSummary


class RunObserver(Protocol):
    def on_start(self, run: RunHandle) -> None: ...
    def on_request(self, outcome: RequestOutcome) -> None: ...
    def on_sample(self, result: SampleResult, scorer: Scorer) -> None: ...
    def on_retry(self, key: str, error: RequestError, attempt: int) -> None: ...
    def on_finish(self, run: RunHandle, summary: RunSummary) -> None: ...


class BaseObserver:
    """No-op implementations, to subclass.  ``on_retry`` is called for each failed attempt
    the dispatcher is about to retry (``on_request`` sees only each request's final outcome)."""

    def on_start(self, run: RunHandle) -> None:
        pass

    def on_request(self, outcome: RequestOutcome) -> None:
        pass

    def on_sample(self, result: SampleResult, scorer: Scorer) -> None:
        pass

    def on_retry(self, key: str, error: RequestError, attempt: int) -> None:
        pass

    def on_finish(self, run: RunHandle, summary: RunSummary) -> None:
        pass


class Observers(BaseObserver):
    """Fan one event out to several observers."""

    def __init__(self, observers: Sequence[RunObserver]) -> None:
        self._observers = tuple(observers)

    def on_start(self, run: RunHandle) -> None:
        for o in self._observers:
            o.on_start(run)

    def on_request(self, outcome: RequestOutcome) -> None:
        for o in self._observers:
            o.on_request(outcome)

    def on_sample(self, result: SampleResult, scorer: Scorer) -> None:
        for o in self._observers:
            o.on_sample(result, scorer)

    def on_retry(self, key: str, error: RequestError, attempt: int) -> None:
        for o in self._observers:
            o.on_retry(key, error, attempt)

    def on_finish(self, run: RunHandle, summary: RunSummary) -> None:
        for o in self._observers:
            o.on_finish(run, summary)
