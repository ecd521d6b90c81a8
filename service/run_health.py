"""Whether a run's figures can be trusted: early stop, the error budget, the end verdict.

A run whose every request fails, or whose every answer is unreadable, still produces
numbers (an accuracy of 0%, a throughput of failures per hour); printed as a success they
mislead.  :class:`RunHealth` watches the run and says, as one line, why it failed:

* **early stop**: when the first :data:`EARLY_STOP_AFTER` requests for a model all fail
  for a reason retrying cannot fix (connection refused, HTTP 401 / 403 / 404), the run
  stops there, naming the cause and quoting the server;
* **error budget** (``max_error_rate``, on by default): during the run, once the failed
  share is above the budget with 95% confidence (Wilson lower bound, from
  :data:`BUDGET_MIN_SAMPLES` samples on); at the end, whenever the failed share is above
  it, however small the run;
* **nothing scored**: every answer a parse failure, every request failed, or no sample
  completed.

The messages name the most common error, with the server's own words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .errors import HTTPStatusError, RequestError, RequestTimeout
from .stats import wilson

EARLY_STOP_AFTER = 5
UNFIXABLE_STATUSES = frozenset({401, 403, 404})
BUDGET_MIN_SAMPLES = 10


def describe(error: RequestError) -> str:
    """One line for a failed request: what happened, where, in the server's words."""
    where = f" from {error.url}" if error.url else ""
    if isinstance(error, HTTPStatusError):
        return f"HTTP {error.status}{where}: {error.server_text}"
    if error.refused:
        return f"connection refused{' at ' + error.url if error.url else ''}"
    if isinstance(error, RequestTimeout):
        return f"{error}{where}"
    return f"{error}{where}"


def unfixable(error: RequestError) -> bool:
    """Failures that the same request sent again will meet again."""
    if isinstance(error, HTTPStatusError):
        return error.status in UNFIXABLE_STATUSES
    return error.refused


@dataclass(slots=True)
class _ModelStart:
    ok: int = 0
    unfixable: int = 0


@dataclass(slots=True)
class RunHealth:
    max_error_rate: float | None
    early_stop_after: int = EARLY_STOP_AFTER
    _starts: dict[str, _ModelStart] = field(default_factory=dict)
    _errors: Counter[str] = field(default_factory=Counter)
    _first: dict[str, str] = field(default_factory=dict)
    _unfixable: Counter[str] = field(default_factory=Counter)
    parse_failure_example: str | None = None

    # -- requests -------------------------------------------------------------------
    def request_ok(self, model: str) -> None:
        self._starts.setdefault(model, _ModelStart()).ok += 1

    def request_failed(self, model: str, error: RequestError) -> str | None:
        """Tally a request that failed after its retries; a reason to stop now, or ``None``."""
        self.tally(error.kind + (":refused" if error.refused else ""), describe(error))
        start = self._starts.setdefault(model, _ModelStart())
        if start.ok or not unfixable(error):  # a fixable failure proves nothing either way
            return None
        start.unfixable += 1
        self._unfixable[describe(error)] += 1
        if start.unfixable < self.early_stop_after:
            return None
        cause, _ = self._unfixable.most_common(1)[0]
        scope = f" for model '{model}'" if len(self._starts) > 1 else ""
        return f"stopped early: the first {start.unfixable} requests{scope} all failed: {cause}"

    def tally(self, kind: str, description: str) -> None:
        self._errors[kind] += 1
        self._first.setdefault(kind, description)

    def replay(self, record: dict[str, Any]) -> None:
        """Count a stored record's errors (a resumed run names errors of earlier sessions)."""
        if record.get("outcome") != "error":
            return
        for part in record.get("parts", ()):
            if part.get("error"):
                self.tally(part.get("error_kind") or "error", part["error"])

    def note_parse_failure(self, reason: str | None, content: str | None) -> None:
        if self.parse_failure_example is None:
            text = " ".join((content or "").split())
            shown = text[:80] + ("..." if len(text) > 80 else "")
            self.parse_failure_example = f"{reason or 'unparsed'} (answer: {shown!r})"

    def most_common_error(self) -> str | None:
        if not self._errors:
            return None
        kind, count = self._errors.most_common(1)[0]
        return f"{self._first[kind]} ({count} requests)"

    # -- samples ----------------------------------------------------------------------
    def over_budget(self, errors: int, samples: int, *, final: bool) -> str | None:
        """The budget message if ``errors`` of ``samples`` is beyond it: at the end on the
        share itself, during the run only once it is beyond with 95% confidence."""
        rate = self.max_error_rate
        if rate is None or samples == 0 or errors == 0:
            return None
        if final:
            beyond = errors / samples > rate
        else:
            low = wilson(errors, samples)
            beyond = samples >= BUDGET_MIN_SAMPLES and low is not None and low["ci_low"] > rate
        if not beyond:
            return None
        common = self.most_common_error()
        return (
            f"{errors} of {samples} samples failed ({errors / samples:.0%}), beyond the error "
            f"budget of {rate:.0%} (--max-error-rate)"
            + (f"; most common: {common}" if common else "")
        )

    def verdict(self, samples: int, parse_failures: int, errors: int) -> str | None:
        """At the end of a run that was not interrupted: why its figures would mislead."""
        if samples == 0:
            return "nothing was scored: no sample completed"
        scored = samples - parse_failures - errors
        if scored == 0:
            if parse_failures == samples:
                example = self.parse_failure_example
                return f"every answer was a parse failure ({samples} of {samples})" + (
                    f"; first: {example}" if example else ""
                )
            if errors == samples:
                common = self.most_common_error()
                return f"every request failed ({samples} of {samples} samples)" + (
                    f"; most common: {common}" if common else ""
                )
            return (
                f"nothing was scored: {parse_failures} parse failures and "
                f"{errors} failed samples of {samples}"
            )
        return self.over_budget(errors, samples, final=True)
