"""What a report shows, gathered from the store: runs, their latencies, the matrix grid,
and the paired findings between runs on the same samples."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from policybench.service.compare import Comparison, compare_runs
from policybench.service.curves import curve_points
from policybench.service.matrix import MatrixSpec, find_run
from policybench.service.runner import prepare
from policybench.service.runsummary import StoredRun, summarise
from policybench.service.store import Store

from .fmt import GRID_METRICS

#: At most this many per-sample latencies per run are kept for the distribution chart.
MAX_LATENCIES = 200_000
#: Pairwise findings are listed for at most this many runs per dataset.
MAX_PAIRED_RUNS = 12

CellKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Grid:
    """The matrix: models x policies, one table per (strategy, dataset)."""

    name: str
    models: tuple[str, ...]
    policies: tuple[str, ...]
    strategies: tuple[str, ...]
    datasets: tuple[str, ...]
    cells: dict[CellKey, StoredRun | None]
    simulated: bool = False
    #: what each cell shows: ``multi`` (multi-policy accuracy), ``binary``, ``f1``
    metric: str = "multi"

    def run(self, key: CellKey) -> StoredRun | None:
        return self.cells.get(key)

    def accuracy(self, key: CellKey) -> dict[str, Any] | None:
        return self.figure(key, "multi_policy_accuracy")

    def figure(self, key: CellKey, summary_key: str | None = None) -> dict[str, Any] | None:
        """The cell's figure for the grid's metric (or ``summary_key``), or ``None``."""
        run = self.cells.get(key)
        if run is None:
            return None
        figure = run.summary.to_json().get(summary_key or GRID_METRICS[self.metric][0])
        return figure if isinstance(figure, dict) else None

    @property
    def metric_name(self) -> str:
        return GRID_METRICS[self.metric][1]

    def tables(self) -> list[tuple[str, str]]:
        return list(itertools.product(self.strategies, self.datasets))


@dataclass(slots=True)
class ReportData:
    title: str
    runs: list[StoredRun]
    latencies: dict[str, list[float]] = field(default_factory=dict)
    grid: Grid | None = None
    findings: list[Comparison] = field(default_factory=list)
    #: PR and ROC points of the runs with scores (``--scores``), by run id.
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        return any(r.simulated for r in self.runs)


def run_latencies(store: Store, run_id: str) -> list[float]:
    out: list[float] = []
    for record in store.iter_records(run_id):
        if record.get("latency") is not None and record.get("outcome") != "error":
            out.append(float(record["latency"]))
            if len(out) >= MAX_LATENCIES:
                break
    return out


def run_curves(store: Store, run_id: str) -> dict[str, list[float]] | None:
    """PR and ROC points from a run's stored scores (``None`` for a run without any)."""
    scores: list[float] = []
    labels: list[bool] = []
    for record in store.iter_records(run_id):
        unsafe = (record.get("gold") or {}).get("unsafe")
        if record.get("score") is not None and unsafe is not None:
            scores.append(float(record["score"]))
            labels.append(bool(unsafe))
    if not scores or all(labels) or not any(labels):
        return None
    points: dict[str, list[float]] = curve_points(scores, labels)
    return points


def grid_from_plan(
    spec: MatrixSpec, store: Store, cells: list[tuple[Any, str | None]], metric: str = "multi"
) -> Grid:
    """The grid of a matrix whose cells are already matched to run ids."""
    out: dict[CellKey, StoredRun | None] = {}
    for cell, run_id in cells:
        out[cell.key] = summarise(store, run_id) if run_id else None
    return Grid(
        spec.name,
        spec.models,
        spec.policies,
        spec.strategies,
        spec.datasets,
        out,
        spec.simulated,
        metric,
    )


def grid_from_matrix(spec: MatrixSpec, store: Store, metric: str = "multi") -> Grid:
    """Match every cell of ``spec`` to its stored run (reads each dataset to fingerprint it)."""
    cells: list[tuple[Any, str | None]] = []
    for cell in spec.cells:
        prepared = prepare(cell.config)
        row = find_run(store, cell.config, prepared.dataset.fingerprint, prepared.policies.digest)
        cells.append((cell, row.run_id if row else None))
    return grid_from_plan(spec, store, cells, metric)


def findings(store: Store, runs: list[StoredRun]) -> list[Comparison]:
    """The best run on each dataset against every other run on it, paired."""
    by_dataset: dict[str, list[StoredRun]] = {}
    for run in runs:
        by_dataset.setdefault(run.row.dataset_fingerprint, []).append(run)
    out = []
    for group in by_dataset.values():
        scored = [r for r in group if r.summary.to_json().get("multi_policy_accuracy")][
            :MAX_PAIRED_RUNS
        ]
        if len(scored) < 2:
            continue
        best = max(scored, key=lambda r: r.summary.to_json()["multi_policy_accuracy"]["value"])
        for other in scored:
            if other is not best:
                out.append(compare_runs(store, other.row.run_id, best.row.run_id))
    return out


def collect(
    store: Store,
    run_ids: list[str],
    *,
    grid: Grid | None = None,
    title: str = "policybench report",
) -> ReportData:
    runs = [summarise(store, r) for r in run_ids]
    if grid is not None:
        seen = {r.row.run_id for r in runs}
        for cell_run in grid.cells.values():
            if cell_run is not None and cell_run.row.run_id not in seen:
                runs.append(cell_run)
                seen.add(cell_run.row.run_id)
    data = ReportData(title=title, runs=runs, grid=grid)
    for run in runs:
        data.latencies[run.row.run_id] = run_latencies(store, run.row.run_id)
        if run.summary.scores is not None and run.summary.scores.scored:
            points = run_curves(store, run.row.run_id)
            if points is not None:
                data.curves[run.row.run_id] = points
    data.findings = findings(store, runs)
    return data
