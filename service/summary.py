"""The run summary: one typed, versioned, frozen model that every reader uses.

A run's figures are built once (by the scorer and the runner, or rebuilt from stored
records) into a :class:`RunSummary`; the store keeps its JSON, ``bench run --json``
prints it, reports, comparisons, the service and the metrics read its attributes.  A
renamed or mistyped key is a type error, not a silent ``None``.

Versions: summaries stored before this model have no ``summary_version`` (version 1);
:meth:`RunSummary.load` reads every version into today's model (fields added since
take their defaults), so old stores keep working.

Adding a figure is one declaration: a field with a default (``None`` for a figure not
every run has), set where it is computed.  A field that is not set is left out of the
JSON (``to_json``), so a key appears only in runs that have it, as before.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SUMMARY_VERSION = 2


class _Figures(BaseModel):
    # extra keys are kept, not refused: a summary written by a newer version still loads
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object (``--json``, the store, the API): keys in declaration order."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class Interval(_Figures):
    """A figure with its 95% interval: a proportion (Wilson; ``successes`` of ``n``) or an
    F1 (``method``: how its interval was derived)."""

    value: float
    ci_low: float
    ci_high: float
    successes: int | None = None
    n: int | None = None
    method: str | None = None


class Percentiles(_Figures):
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class CategoryFigures(_Figures):
    """One category's confusion counts and the figures derived from them."""

    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    support: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0


class BinaryCounts(_Figures):
    """The binary confusion counts behind P/R/F1, under the run's failure rule."""

    failure_rule: str = "wrong"
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    failures_counted: int = 0
    excluded_parse_failures: int = 0
    excluded_errors: int = 0


class Headline(_Figures):
    """The headline figures of a set of samples (a whole run's, one source's, one slice's)."""

    samples: int = 0
    multi_policy_accuracy: Interval | None = None
    binary_accuracy: Interval | None = None
    binary_precision: Interval | None = None
    binary_recall: Interval | None = None
    binary_f1: Interval | None = None
    binary_counts: BinaryCounts | None = None
    failure_rule: str | None = None
    false_positive_rate: float | None = None
    false_negative_rate: float | None = None
    parse_failures: int = 0
    errors: int = 0


class Tokens(_Figures):
    #: ``None``: the server sent no ``usage`` (shown as n/a, never as 0)
    prompt: int | None = 0
    completion: int | None = 0


class TokenRates(_Figures):
    prompt: float | None = None
    completion: float | None = None


class EndpointFigures(_Figures):
    requests: int = 0
    errors: int = 0
    times_taken_out: int = 0
    mean_latency_seconds: float | None = None


class OperatingPoint(_Figures):
    """The confusion counts of the scores at the run's ``--threshold``."""

    threshold: float
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    false_positive_rate: float | None = None


class ScoreFigures(_Figures):
    """The ``scores`` block: threshold-free figures of P(unsafe) (service/curves.py)."""

    scored: int = 0
    unscored: int = 0
    positives: int = 0
    negatives: int = 0
    auprc: float | None = None
    roc_auc: float | None = None
    precision_at_recall: dict[str, float | None] = {}
    recall_at_fpr_001: float | None = Field(None, alias="recall_at_fpr_0.01")
    best_f1: dict[str, float] | None = None
    operating_point: OperatingPoint | None = None


class Slices(_Figures):
    """``--by FIELD``: every headline figure per value of the field (service/slices.py)."""

    by: str
    groups: dict[str, Headline] = {}
    capped: bool = False
    max_groups: int | None = None


class RunSummary(_Figures):
    """A run's figures (the shape of ``bench run --json``)."""

    run_id: str
    status: str
    samples: int = 0
    # -- scoring (service/scoring.py) ------------------------------------------------------
    multi_policy_accuracy: Interval | None = None
    binary_accuracy: Interval | None = None
    binary_precision: Interval | None = None
    binary_recall: Interval | None = None
    binary_f1: Interval | None = None
    binary_counts: BinaryCounts | None = None
    failure_rule: str | None = None
    false_positive_rate: float | None = None
    false_negative_rate: float | None = None
    parse_failures: int = 0
    errors: int = 0
    completed: int = 0
    outcomes: dict[str, int] = {}
    unknown_labels: int = 0
    per_category: dict[str, CategoryFigures] = {}
    macro_f1: float | None = None
    by_source: dict[str, Headline] = {}
    slices: Slices | None = None
    samples_per_hour: float | None = None
    dispatch_seconds: float = 0.0
    latency_seconds: Percentiles = Percentiles()
    request_latency_seconds: Percentiles = Percentiles()
    ttft_seconds: Percentiles | None = None
    requests: int = 0
    tokens: Tokens = Tokens()
    prompt_tokens_per_request: float | None = None
    #: with ``--scores``: AUPRC, ROC-AUC and the operating point (None: a run without scores)
    scores: ScoreFigures | None = None
    tokens_per_second: TokenRates = TokenRates()
    # -- the run (service/runner.py) -------------------------------------------------------
    backend: str | None = None
    model: str | None = None
    strategy: str | None = None
    #: prompt / response / refusal (service/tasks.py)
    task: str | None = None
    policies: str | None = None
    dataset: str | None = None
    dataset_fingerprint: str | None = None
    concurrency: int | str | None = None
    concurrency_limit: int | None = None
    rate: float | None = None
    batch_size: int | None = None
    endpoints: dict[str, EndpointFigures] | None = None
    concurrency_limit_history: list[int] | None = None
    # -- how the run went (service/runner.py, service/run_health.py) ------------------------
    #: chat / chat-batch / completions / offline-batch: the route the requests took
    route: str | None = None
    #: why a ``failed`` run failed: the one line the CLI prints
    failure: str | None = None
    #: preflight notes (a server that does not list its models, one of several down, ...)
    notes: list[str] | None = None
    #: the server's own figures over the run, from its vLLM /metrics (service/server_metrics.py)
    server: dict[str, Any] | None = None
    #: every finished sample per hour, failures included (samples_per_hour counts scored ones)
    completed_per_hour: float | None = None
    #: attempts that timed out (they are in request latency too)
    request_timeouts: int = 0
    summary_version: int = SUMMARY_VERSION

    @classmethod
    def load(cls, data: dict[str, Any]) -> RunSummary:
        """A stored summary of any version, as today's model."""
        version = data.get("summary_version", 1)
        if version == 1:  # before the model: the same keys, untyped, without a version
            data = {**data, "summary_version": SUMMARY_VERSION}
        return cls.model_validate(data)

    def updated(self, **changes: Any) -> RunSummary:
        """A copy with ``changes`` validated (a frozen model is never changed in place)."""
        return RunSummary.load({**self.to_json(), **_json(changes)})


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to_json() if isinstance(v, _Figures) else v for k, v in values.items()}
