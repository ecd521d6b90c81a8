"""Suites: the field's standard table, F1 per protocol dataset and the average weighted by
set size, for one or more models, each number with its provenance.

A suite file (TOML) names its sets and models::

    [suite]
    name = "prompt-harm"
    task = "prompt"                     # what every set's gold is for
    models = ["GuardReasoner-8B"]
    policies = "minimal"                # one policy set and one strategy for every run
    strategy = "multi"

    [[suite.sets]]
    name = "ToxicChat"
    dataset = "toxicchat0124.jsonl"     # relative to the suite file
    protocol = "toxicchat0124"          # optional: the recipe the file must come from

    [settings]                          # any RunConfig field, as in a matrix
    [sim]                               # optional: the simulated server, as in a matrix
    [published."GuardReasoner-8B"]      # optional: published figures to show beside
    ToxicChat = 78.79

The runs are a matrix (models x sets) built and resumed by :mod:`.matrix` and run by the
matrix runner: a cell already measured is skipped, a partial one resumed.  The table is
read from the stored runs (:func:`suite_table`); F1 is the run's binary F1 (unsafe, or
refused, as the positive class; from the records, failures counted against the model,
for a summary that has none), the weighted average is sum(F1 x samples) / sum(samples)
over the sets, as GuardReasoner and Ai2's safety-eval report it, and a model missing any
set has no average.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import RunConfig
from .datasets import read_header, resolve
from .errors import ConfigError, PolicybenchError
from .matrix import MatrixSpec, SimSection, matrix_from_raw
from .runsummary import summarise
from .scoring import ERROR, PARSE_FAILURE, UNSCORED
from .store import Store
from .summary import RunSummary
from .tasks import Task


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SuiteSet(_Frozen):
    name: str = Field(min_length=1)
    dataset: str = Field(min_length=1)
    protocol: str | None = None


class SuiteSection(_Frozen):
    name: str = "suite"
    title: str | None = None
    task: Task = Task.PROMPT
    models: tuple[str, ...] = Field(min_length=1)
    policies: str = "minimal"
    strategy: str = "multi"
    sets: tuple[SuiteSet, ...] = Field(min_length=1)


class SuiteFile(_Frozen):
    suite: SuiteSection
    settings: dict[str, Any] = Field(default_factory=dict)
    sim: SimSection | None = None
    published: dict[str, dict[str, float]] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    path: Path
    name: str
    title: str
    task: Task
    sets: tuple[SuiteSet, ...]
    models: tuple[str, ...]
    published: dict[str, dict[str, float]]
    matrix: MatrixSpec

    def dataset_of(self, suite_set: SuiteSet) -> str:
        """The set's dataset as the matrix resolved it (absolute where it is a path)."""
        return self.matrix.datasets[self.sets.index(suite_set)]


def load_suite(path: str | Path, *, force_sim: bool = False) -> SuiteSpec:
    """Read and validate a suite file; :class:`ConfigError` names the file and the key."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("file", f"cannot read: {exc.strerror or exc}", source) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("toml", str(exc), source) from exc
    try:
        parsed = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ConfigError(where, first["msg"], source) from exc
    s = parsed.suite
    names = [x.name for x in s.sets]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"suite.sets[{i}].name", f"{name!r} is given twice", source)
    datasets = [x.dataset for x in s.sets]
    for i, dataset in enumerate(datasets):
        if dataset in datasets[:i]:
            raise ConfigError(f"suite.sets[{i}].dataset", f"{dataset!r} is given twice", source)
    for model, figures in parsed.published.items():
        for name in figures:
            if name not in names:
                raise ConfigError(f"published.{model}.{name}", "is not a set of the suite", source)
    settings = dict(parsed.settings)
    if "task" in RunConfig.model_fields:
        settings.setdefault("task", s.task.value)
    matrix_raw: dict[str, Any] = {
        "matrix": {
            "name": s.name,
            "models": list(s.models),
            "policies": [s.policies],
            "strategies": [s.strategy],
            "datasets": datasets,
        },
        "settings": settings,
    }
    if "sim" in raw:
        matrix_raw["sim"] = raw["sim"]
    matrix = matrix_from_raw(matrix_raw, path, force_sim=force_sim)
    spec = SuiteSpec(
        path=path,
        name=s.name,
        title=s.title or s.name,
        task=s.task,
        sets=s.sets,
        models=s.models,
        published=parsed.published,
        matrix=matrix,
    )
    for i, suite_set in enumerate(s.sets):
        if suite_set.protocol is not None:
            _check_protocol(spec.dataset_of(suite_set), suite_set.protocol, i, source)
    return spec


def _check_protocol(dataset: str, protocol: str, index: int, source: str) -> None:
    where = f"suite.sets[{index}].protocol"
    try:
        header = read_header(resolve(dataset)) or {}
    except PolicybenchError as exc:
        raise ConfigError(f"suite.sets[{index}].dataset", str(exc), source) from exc
    recorded = ((header.get("imported") or {}).get("protocol") or {}).get("name")
    if recorded != protocol:
        got = f"from protocol {recorded!r}" if recorded else "not imported by a protocol recipe"
        raise ConfigError(
            where,
            f"{dataset} is {got}, not {protocol!r} "
            f"(bench datasets import --protocol {protocol} ...)",
            source,
        )


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a measured number comes from."""

    policybench: str
    model: str
    server: str
    server_version: str | None
    prompt_format: str
    date: str
    run_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "policybench": self.policybench,
            "model": self.model,
            "server": self.server,
            "server_version": self.server_version,
            "prompt_format": self.prompt_format,
            "date": self.date,
            "run_id": self.run_id,
        }


@dataclass(frozen=True, slots=True)
class Cell:
    """One model on one set: F1 (percent) with its interval, or why there is none."""

    f1: float | None
    ci: tuple[float, float] | None
    samples: int
    status: str
    provenance: Provenance | None = None
    failures: int = 0


@dataclass(slots=True)
class SuiteRow:
    model: str
    cells: dict[str, Cell] = field(default_factory=dict)
    published: bool = False

    def weighted(self, sets: tuple[SuiteSet, ...]) -> float | None:
        """sum(F1 x samples) / sum(samples); ``None`` unless every set has an F1."""
        cells = [self.cells.get(s.name) for s in sets]
        if any(c is None or c.f1 is None for c in cells) or not cells:
            return None
        total = sum(c.samples for c in cells if c is not None)
        if not total:
            return None
        return sum(c.f1 * c.samples for c in cells if c is not None and c.f1 is not None) / total


@dataclass(frozen=True, slots=True)
class SuiteTable:
    name: str
    title: str
    task: Task
    sets: tuple[SuiteSet, ...]
    sizes: dict[str, int]
    rows: tuple[SuiteRow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.name,
            "title": self.title,
            "task": self.task.value,
            "sets": [{"name": s.name, "samples": self.sizes.get(s.name)} for s in self.sets],
            "rows": [
                {
                    "model": r.model,
                    "kind": "published" if r.published else "measured",
                    "weighted_f1": r.weighted(self.sets),
                    "cells": {
                        name: {
                            "f1": c.f1,
                            "ci": list(c.ci) if c.ci else None,
                            "samples": c.samples,
                            "status": c.status,
                            "failures": c.failures,
                            "provenance": c.provenance.as_dict() if c.provenance else None,
                        }
                        for name, c in r.cells.items()
                    },
                }
                for r in self.rows
            ],
        }


def binary_f1(summary: RunSummary) -> tuple[float | None, tuple[float, float] | None]:
    """The run's binary F1 in percent and its 95% interval, from its summary."""
    figure = summary.binary_f1
    if figure is None:
        return None, None
    return 100 * figure.value, (100 * figure.ci_low, 100 * figure.ci_high)


def records_f1(records: Iterable[dict[str, Any]]) -> float | None:
    """Binary F1 in percent from stored records, a failure counting against the model (a
    miss if the gold is unsafe, a false alarm if not): for summaries without ``binary_f1``."""
    tp = fp = fn = 0
    for record in records:
        gold = record["gold"].get("unsafe")
        if gold is None or record["outcome"] == UNSCORED:
            continue
        if record["outcome"] in (PARSE_FAILURE, ERROR):
            fn += gold
            fp += not gold
            continue
        predicted = bool(record.get("predicted"))
        tp += gold and predicted
        fp += predicted and not gold
        fn += gold and not predicted
    return 200 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


def suite_table(
    spec: SuiteSpec,
    store: Store,
    run_ids: dict[tuple[str, str], str | None],
    server_version: str | None = None,
) -> SuiteTable:
    """The table from the stored runs (``run_ids``: (model, dataset) -> run id)."""
    import datetime

    sizes: dict[str, int] = {}
    rows: list[SuiteRow] = []
    for model in spec.models:
        row = SuiteRow(model)
        for suite_set in spec.sets:
            run_id = run_ids.get((model, spec.dataset_of(suite_set)))
            if run_id is None:
                row.cells[suite_set.name] = Cell(None, None, 0, "not run")
                continue
            stored = summarise(store, run_id)
            f1, ci = binary_f1(stored.summary)
            if f1 is None and "binary_f1" not in stored.summary.model_fields_set:
                f1 = records_f1(store.iter_records(stored.row.run_id))
            samples = stored.row.samples_total
            sizes[suite_set.name] = samples
            outcomes = stored.summary.outcomes
            config = stored.row.config
            provenance = Provenance(
                policybench=stored.row.version,
                model=stored.row.model,
                server=str(stored.summary.backend or stored.row.backend),
                server_version=server_version,
                prompt_format=str(
                    config.get("prompt_format")
                    or config.get("output_format")
                    or f"{stored.row.policy_set} policies, {stored.row.strategy}"
                ),
                date=datetime.datetime.fromtimestamp(
                    stored.row.created_at, tz=datetime.UTC
                ).strftime("%Y-%m-%d"),
                run_id=stored.row.run_id,
            )
            row.cells[suite_set.name] = Cell(
                f1,
                ci,
                samples,
                stored.row.status,
                provenance,
                int(outcomes.get("parse_failure", 0)) + int(outcomes.get("error", 0)),
            )
        rows.append(row)
    for model, figures in spec.published.items():
        row = SuiteRow(model, published=True)
        for suite_set in spec.sets:
            if suite_set.name in figures:
                size = sizes.get(suite_set.name, 0)
                row.cells[suite_set.name] = Cell(figures[suite_set.name], None, size, "published")
        rows.append(row)
    return SuiteTable(spec.name, spec.title, spec.task, spec.sets, sizes, tuple(rows))
