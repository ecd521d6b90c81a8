"""A stored run's figures, re-derived from its per-sample records.

Reports and comparisons work from the store alone: they replay a run's records into a
fresh :class:`~policybench.service.scoring.Scorer` exactly as the live run scored them,
so a run killed before it wrote its summary still has one, and every figure shown is a
function of the stored records (never of a re-run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .binary import DEFAULT_FAILURE_RULE, FailureRule
from .errors import PolicybenchError
from .policies import load_policy_set
from .records import replay
from .scoring import Scorer
from .store import RunRow, Store
from .summary import RunSummary


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One run as reports see it: its row, its summary from records, and its label."""

    row: RunRow
    summary: RunSummary

    @property
    def label(self) -> str:
        return f"{self.row.model} / {self.row.policy_set} / {self.row.strategy}"

    @property
    def simulated(self) -> bool:
        return self.row.backend == "simulated"


def run_categories(row: RunRow) -> tuple[str, ...]:
    """The run's categories in taxonomy order (from its stored summary or its policy set)."""
    if row.summary is not None and row.summary.per_category:
        return tuple(row.summary.per_category)
    try:
        return load_policy_set(str(row.config.get("policies", row.policy_set))).categories
    except PolicybenchError:
        return ()


def failure_rule_of(row: RunRow) -> FailureRule:
    """The run's failure rule (runs stored before rules existed used ``wrong``)."""
    try:
        return FailureRule(row.config.get("failures", DEFAULT_FAILURE_RULE))
    except ValueError:
        return DEFAULT_FAILURE_RULE


def summarise(store: Store, run_id: str, failures: FailureRule | None = None) -> StoredRun:
    """Replay ``run_id``'s records into a fresh scorer; timing comes from the run row.

    ``failures`` scores binary P/R/F1 under another failure rule than the run's own.
    """
    row = store.get_run(run_id)
    categories = run_categories(row) or _categories_from_records(store, row.run_id)
    by = row.config.get("by")
    scorer = Scorer(
        categories, failures or failure_rule_of(row), slice_by=by if isinstance(by, str) else None
    )
    for record in store.iter_records(row.run_id):
        replay(record, scorer)
    summary: dict[str, Any] = {
        "run_id": row.run_id,
        "status": row.status,
        "samples": row.samples_total,
    }
    summary.update(scorer.summary(row.dispatch_seconds))
    stored = row.summary.backend if row.summary is not None else None
    summary["backend"] = stored or (
        "simulated" if row.backend == "simulated" else row.config.get("base_url")
    )
    summary["model"] = row.model
    summary["strategy"] = row.strategy
    summary["task"] = row.config.get("task", "prompt")
    summary["policies"] = row.policy_set
    summary["dataset"] = row.dataset
    summary["dataset_fingerprint"] = row.dataset_fingerprint
    summary["concurrency"] = row.config.get("concurrency")
    # what the records cannot tell, as the run stored it: the server's own figures, the
    # route, and why a failed run failed
    kept = row.summary.to_json() if row.summary is not None else {}
    for key in ("server", "route", "failure", "notes"):
        if key in kept:
            summary[key] = kept[key]
    return StoredRun(row, RunSummary.load(summary))


def _categories_from_records(store: Store, run_id: str) -> tuple[str, ...]:
    cats: set[str] = set()
    for record in store.iter_records(run_id):
        cats |= set(record["gold"].get("labels") or ()) | set(record.get("predicted") or ())
    return tuple(sorted(cats))
