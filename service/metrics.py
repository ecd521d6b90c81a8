"""Prometheus metrics for runs: a :class:`RunObserver` that updates prometheus-client
metrics in an injected :class:`~prometheus_client.CollectorRegistry`.

Why it is shaped this way:

* the metric *families* are created once per registry (:class:`RunMetrics`); each run gets
  its own observer (:meth:`RunMetrics.observer`) whose label children are resolved and
  pre-initialised in ``on_start``, so the hooks on the hot path are a few dictionary-free
  ``inc``/``observe`` calls (microseconds) and every series exists, at 0, from the first
  scrape (``rate()`` then sees the first increase);
* gauges that only mirror engine state (requests in flight, the concurrency limit, the
  samples done, the dispatch time) are read at scrape time through ``set_function``, so
  they cost nothing per request;
* label cardinality is bounded: ``run_id`` (one per run), a fixed set of outcomes, retry
  reasons and accuracy kinds, HTTP statuses folded into a known list; never a sample id.

Every metric is documented in ``docs/metrics.md``; the Grafana dashboard and the alert
rules in ``deploy/`` are built on these names, so they are a public contract.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .errors import ErrorKind
from .observer import BaseObserver
from .scoring import OUTCOMES

if TYPE_CHECKING:
    from .errors import RequestError
    from .records import RequestOutcome, SampleResult
    from .runner import RunHandle
    from .scoring import Scorer
    from .summary import RunSummary

PREFIX = "policybench_"

#: Seconds, for LLM calls: tens of milliseconds (a cached 1-token verdict) to ten minutes
#: (a long reasoning trace on a saturated server).
LATENCY_BUCKETS = (
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    15.0,
    20.0,
    30.0,
    45.0,
    60.0,
    90.0,
    120.0,
    180.0,
    300.0,
    600.0,
)
#: Seconds to the first streamed token: milliseconds to a minute of queueing.
TTFT_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
    40.0,
    80.0,
)

#: The one endpoint the client uses today; a label so batch endpoints can join later.
ENDPOINT_CHAT = "chat_completions"
#: Statuses pre-initialised (so an error-rate query has a 0 to divide before any error).
STATUSES = ("200", "429", "500", "502", "503", "504", "timeout", "connection", "bad_response")
_KNOWN_CODES = frozenset(
    {"400", "401", "403", "404", "408", "409", "413", "422", "429", "500", "502", "503", "504"}
)
#: Why a request was retried, or why it finally failed.
REASONS = ("rate_limited", "server_error", "client_error", "timeout", "connection", "bad_response")
ACCURACY_KINDS = ("multi_policy", "binary")
RUN_INFO_LABELS = ("run_id", "model", "dataset", "policies", "strategy", "backend")


def status_label(kind: ErrorKind | None, status: int | None = None) -> str:
    """An error (its kind and HTTP status) as a bounded status label."""
    if kind is None:
        return "200"
    if kind is ErrorKind.RATE_LIMITED:
        return "429"
    if kind is ErrorKind.HTTP and status is not None:
        code = str(status)
        if code in _KNOWN_CODES:
            return code
        return code[:1] + "xx" if code[:1] in ("1", "2", "3", "4", "5") else "other"
    if kind in (ErrorKind.TIMEOUT, ErrorKind.CONNECTION, ErrorKind.BAD_RESPONSE):
        return kind.value
    return "other"


def reason_label(kind: ErrorKind | None, status: int | None = None) -> str:
    """An error folded into one of :data:`REASONS`."""
    if kind is ErrorKind.RATE_LIMITED:
        return "rate_limited"
    if kind is ErrorKind.HTTP and status is not None:
        return "server_error" if status >= 500 or status == 408 else "client_error"
    if kind in (ErrorKind.TIMEOUT, ErrorKind.CONNECTION, ErrorKind.BAD_RESPONSE):
        return kind.value
    return "client_error"


class RunMetrics:
    """The metric families in one registry.  Create once per registry; one observer per run."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        p = PREFIX
        run = ("run_id",)
        self.run_info = Gauge(
            p + "run_info",
            "Always 1; labels describe the run (model, dataset, policy set, strategy).",
            RUN_INFO_LABELS,
            registry=r,
        )
        self.run_active = Gauge(
            p + "run_active", "1 while the run dispatches, 0 once it has finished.", run, registry=r
        )
        self.run_start = Gauge(
            p + "run_start_time_seconds",
            "Unix time the run (this process) started.",
            run,
            registry=r,
        )
        self.samples_planned = Gauge(
            p + "samples_planned", "Samples the run will classify in all.", run, registry=r
        )
        self.samples_done = Gauge(
            p + "samples_done",
            "Samples with a record, including those done before a resume.",
            run,
            registry=r,
        )
        self.dispatch_seconds = Gauge(
            p + "dispatch_seconds",
            "Wall time of the dispatch phase so far (the run summary's dispatch_seconds at the end).",
            run,
            registry=r,
        )
        self.samples = Counter(
            p + "samples_completed",
            "Samples scored, by outcome (correct, wrong, parse_failure, error, unscored).",
            (*run, "outcome"),
            registry=r,
        )
        self.requests = Counter(
            p + "requests",
            "HTTP attempts, by endpoint and status (an HTTP code, timeout, connection, bad_response).",
            (*run, "endpoint", "status"),
            registry=r,
        )
        self.retries = Counter(
            p + "retries",
            "Failed attempts that were retried, by reason.",
            (*run, "reason"),
            registry=r,
        )
        self.failures = Counter(
            p + "request_failures",
            "Requests that failed after their last attempt (their sample is an error), by reason.",
            (*run, "reason"),
            registry=r,
        )
        self.request_latency = Histogram(
            p + "request_duration_seconds",
            "Latency of the attempt that answered a request.",
            run,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sample_latency = Histogram(
            p + "sample_duration_seconds",
            "Time from a sample's first request to its verdict (retries and all its requests).",
            run,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            p + "time_to_first_token_seconds",
            "Time to the first streamed token (observed only for streaming requests).",
            run,
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            p + "requests_in_flight", "Requests holding a concurrency slot.", run, registry=r
        )
        self.limit = Gauge(
            p + "concurrency_limit", "The current concurrency limit.", run, registry=r
        )
        self.prompt_tokens = Counter(
            p + "prompt_tokens", "Prompt tokens, from the server's usage fields.", run, registry=r
        )
        self.completion_tokens = Counter(
            p + "completion_tokens",
            "Completion tokens (reasoning included), from the server's usage fields.",
            run,
            registry=r,
        )
        self.accuracy = Gauge(
            p + "accuracy_ratio",
            "Running accuracy of the run so far, by kind (multi_policy, binary); NaN before any.",
            (*run, "kind"),
            registry=r,
        )

        self.binary_f1 = Gauge(
            p + "binary_f1_ratio",
            "Running binary F1 (unsafe = positive) of the run so far, failures entered by "
            "the run's failure rule; NaN before any gold-unsafe sample.",
            (*run, "failure_rule"),
            registry=r,
        )

    def observer(self) -> MetricsObserver:
        return MetricsObserver(self)


class MetricsObserver(BaseObserver):
    """Updates :class:`RunMetrics` for one run.  Not reusable across runs."""

    def __init__(self, metrics: RunMetrics) -> None:
        self.metrics = metrics
        self.run_id: str | None = None
        self._info_labels: tuple[str, ...] = ()
        self._done = 0
        self._t0 = 0.0
        self._final_seconds: float | None = None

    # -- lifecycle --------------------------------------------------------------------
    def on_start(self, run: RunHandle) -> None:
        m = self.metrics
        rid = self.run_id = run.run_id
        cfg = run.config
        self._info_labels = (
            rid,
            cfg.model,
            str(cfg.dataset),
            run.policies.name,
            cfg.strategy,
            cfg.backend,
        )
        m.run_info.labels(*self._info_labels).set(1)
        m.run_active.labels(rid).set(1)
        m.run_start.labels(rid).set(time.time())
        m.samples_planned.labels(rid).set(run.total)
        self._done = run.already_done
        self._t0 = time.perf_counter()
        m.samples_done.labels(rid).set_function(lambda: self._done)
        m.dispatch_seconds.labels(rid).set_function(self._elapsed)
        limiter = run.limiter
        m.in_flight.labels(rid).set_function(lambda: limiter.in_flight)
        m.limit.labels(rid).set_function(lambda: limiter.limit)
        # children resolved once: the hooks below never look a label up
        self._samples = {o: m.samples.labels(rid, o) for o in OUTCOMES}
        self._requests = {s: m.requests.labels(rid, ENDPOINT_CHAT, s) for s in STATUSES}
        self._retries = {r: m.retries.labels(rid, r) for r in REASONS}
        self._failures = {r: m.failures.labels(rid, r) for r in REASONS}
        self._ok = self._requests["200"]
        self._request_latency = m.request_latency.labels(rid)
        self._sample_latency = m.sample_latency.labels(rid)
        self._ttft = m.ttft.labels(rid)
        self._prompt = m.prompt_tokens.labels(rid)
        self._completion = m.completion_tokens.labels(rid)
        self._multi = m.accuracy.labels(rid, "multi_policy")
        self._binary = m.accuracy.labels(rid, "binary")
        self._multi.set(math.nan)
        self._binary.set(math.nan)
        self._f1_labels = (rid, str(cfg.failures))
        self._f1 = m.binary_f1.labels(*self._f1_labels)
        self._f1.set(math.nan)

    def _elapsed(self) -> float:
        if self._final_seconds is not None:
            return self._final_seconds
        return time.perf_counter() - self._t0

    def _status_child(self, status: str) -> Any:
        child = self._requests.get(status)
        if child is None:
            assert self.run_id is not None
            child = self._requests[status] = self.metrics.requests.labels(
                self.run_id, ENDPOINT_CHAT, status
            )
        return child

    # -- hot path ---------------------------------------------------------------------
    def on_request(self, outcome: RequestOutcome) -> None:
        if outcome.error is None:
            self._ok.inc()
            if outcome.latency is not None:
                self._request_latency.observe(outcome.latency)
            ttft = getattr(outcome, "ttft", None)  # set by a streaming client, when there is one
            if ttft is not None:
                self._ttft.observe(ttft)
        else:
            self._status_child(status_label(outcome.error_kind, outcome.error_status)).inc()
            self._failures[reason_label(outcome.error_kind, outcome.error_status)].inc()
        if outcome.prompt_tokens:
            self._prompt.inc(outcome.prompt_tokens)
        if outcome.completion_tokens:
            self._completion.inc(outcome.completion_tokens)

    def on_retry(self, key: str, error: RequestError, attempt: int) -> None:
        self._status_child(status_label(error.kind, error.status)).inc()
        self._retries[reason_label(error.kind, error.status)].inc()

    def on_sample(self, result: SampleResult, scorer: Scorer) -> None:
        self._done += 1
        self._samples[result.outcome].inc()
        self._sample_latency.observe(result.latency)
        t = scorer.totals
        if t.multi_n:
            self._multi.set(t.multi_correct / t.multi_n)
        if t.binary_n:
            self._binary.set(t.binary_correct / t.binary_n)
        f1 = t.binary.f1
        if f1 is not None:
            self._f1.set(f1)

    def on_finish(self, run: RunHandle, summary: RunSummary) -> None:
        """Freeze the mirrored gauges at the summary's final values."""
        m = self.metrics
        rid = run.run_id
        self._final_seconds = summary.dispatch_seconds
        self._done = summary.completed
        m.in_flight.labels(rid).set(0)
        m.limit.labels(rid).set(run.limiter.limit)
        for acc, child in (
            (summary.multi_policy_accuracy, self._multi),
            (summary.binary_accuracy, self._binary),
        ):
            if acc is not None:
                child.set(acc.value)
        if summary.binary_f1 is not None:
            self._f1.set(summary.binary_f1.value)
        m.run_active.labels(rid).set(0)

    def forget(self) -> None:
        """Drop this run's series (a long-lived service calls this some time after a run)."""
        rid = self.run_id
        if rid is None:
            return
        m = self.metrics
        m.run_info.remove(*self._info_labels)
        for g in (
            m.run_active,
            m.run_start,
            m.samples_planned,
            m.samples_done,
            m.dispatch_seconds,
            m.request_latency,
            m.sample_latency,
            m.ttft,
            m.in_flight,
            m.limit,
            m.prompt_tokens,
            m.completion_tokens,
        ):
            g.remove(rid)
        for o in self._samples:
            m.samples.remove(rid, o)
        for s in self._requests:
            m.requests.remove(rid, ENDPOINT_CHAT, s)
        for r in REASONS:
            m.retries.remove(rid, r)
            m.failures.remove(rid, r)
        for k in ACCURACY_KINDS:
            m.accuracy.remove(rid, k)
        m.binary_f1.remove(*self._f1_labels)
