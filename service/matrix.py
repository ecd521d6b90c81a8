"""The experiment matrix: a TOML file declaring a grid of runs, validated into frozen cells.

A matrix file names lists of ``models``, ``policies`` (verbosities or policy folders),
``strategies`` and ``datasets`` under ``[matrix]``, the settings every run shares under
``[settings]`` (any :class:`~policybench.service.config.RunConfig` field), and optionally
``[sim]`` to run every cell against the built-in simulated server, with per-model
overrides under ``[sim.models."NAME"]``.  Dataset paths are relative to the TOML file.

Each cell of the grid becomes one validated ``RunConfig``.  A cell is *done* when the
store holds a run with the same measuring config (the stored config without the settings
that only change how a run goes: endpoint, concurrency, timeouts, retries), the same
dataset fingerprint and the same policy hash; such runs are matched by :func:`find_run`.
"""

from __future__ import annotations

import contextlib
import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import RunConfig
from .errors import ConfigError
from .option_meta import operational_fields
from .store import RunRow, Store

#: Settings that change how a run goes, not what it measures (as ``bench run --resume``).
OPERATIONAL = operational_fields(RunConfig)
#: Simulator settings that change only its speed.
SIM_OPERATIONAL = frozenset({"time_scale", "max_num_seqs"})
_AXES = ("models", "policies", "strategies", "datasets")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SimModel(_Frozen):
    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None


class SimSection(_Frozen):
    enabled: bool = True
    error_rate: float = Field(default=0.1, ge=0.0, le=1.0)
    seed: int = 0
    time_scale: float = Field(default=0.0, ge=0.0)
    max_num_seqs: int = Field(default=256, ge=1)
    models: dict[str, SimModel] = Field(default_factory=dict)

    def for_model(self, model: str) -> dict[str, Any]:
        override = self.models.get(model, SimModel())
        return {
            "error_rate": self.error_rate if override.error_rate is None else override.error_rate,
            "seed": self.seed if override.seed is None else override.seed,
            "time_scale": self.time_scale,
            "max_num_seqs": self.max_num_seqs,
        }


class MatrixSection(_Frozen):
    name: str = "matrix"
    models: tuple[str, ...] = Field(min_length=1)
    policies: tuple[str, ...] = Field(default=("minimal",), min_length=1)
    strategies: tuple[str, ...] = Field(default=("multi",), min_length=1)
    datasets: tuple[str, ...] = Field(min_length=1)


class MatrixFile(_Frozen):
    matrix: MatrixSection
    settings: dict[str, Any] = Field(default_factory=dict)
    sim: SimSection | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    """One run of the grid."""

    model: str
    policies: str
    strategy: str
    dataset: str
    config: RunConfig

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.model, self.policies, self.strategy, self.dataset)


@dataclass(frozen=True, slots=True)
class MatrixSpec:
    path: Path
    name: str
    models: tuple[str, ...]
    policies: tuple[str, ...]
    strategies: tuple[str, ...]
    datasets: tuple[str, ...]
    simulated: bool
    cells: tuple[Cell, ...]


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "file"


def _dataset_path(value: str, base: Path) -> str:
    looks_like_path = "/" in value or "\\" in value or value.endswith((".json", ".jsonl", ".gz"))
    if looks_like_path and not Path(value).is_absolute():
        return str((base / value).resolve())
    return value


def load_matrix(path: str | Path, *, force_sim: bool = False) -> MatrixSpec:
    """Read and validate a matrix file; :class:`ConfigError` names the file and the key."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("file", f"cannot read: {exc.strerror or exc}", source) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("file", f"not UTF-8 text (byte {exc.start})", source) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("toml", str(exc), source) from exc
    return matrix_from_raw(raw, path, force_sim=force_sim)


def matrix_from_raw(raw: dict[str, Any], path: Path, *, force_sim: bool = False) -> MatrixSpec:
    """A matrix from a parsed TOML document (``path``: where relative datasets are found,
    and the file errors name); ``bench suite`` builds its grid through this too."""
    source = str(path)
    try:
        parsed = MatrixFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(_field(first["loc"]), first["msg"], source) from exc
    m = parsed.matrix
    for key in ("dataset", "policies", "strategy", "model", "backend", "sim"):
        if key in parsed.settings:
            raise ConfigError(
                f"settings.{key}",
                "is set per cell by [matrix] (or [sim]), not in [settings]",
                source,
            )
    sim = parsed.sim
    simulated = force_sim or (sim is not None and sim.enabled)
    if simulated and sim is None:
        sim = SimSection()
    datasets = tuple(_dataset_path(d, path.parent) for d in m.datasets)
    cells = []
    for model, policies, strategy, dataset in itertools.product(
        m.models, m.policies, m.strategies, datasets
    ):
        values: dict[str, Any] = dict(parsed.settings)
        values.update(model=model, policies=policies, strategy=strategy, dataset=dataset)
        if simulated:
            assert sim is not None
            values["backend"] = "simulated"
            values["sim"] = sim.for_model(model)
        try:
            config = RunConfig.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = first["loc"]
            name = str(loc[0]) if loc else "settings"
            where = {"strategy": "matrix.strategies", "model": "matrix.models"}.get(
                name, f"settings.{_field(loc)}"
            )
            raise ConfigError(where, first["msg"], source) from exc
        cells.append(Cell(model, policies, strategy, dataset, config))
    return MatrixSpec(
        path=path,
        name=m.name,
        models=m.models,
        policies=m.policies,
        strategies=m.strategies,
        datasets=datasets,
        simulated=simulated,
        cells=tuple(cells),
    )


def measuring_config(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config without the settings that do not change what a run measures.

    A config stored by an older version is read through today's :class:`RunConfig` first,
    so settings added since compare at their defaults.
    """
    # one that no longer validates is compared as stored (it then matches nothing new)
    with contextlib.suppress(ValidationError):
        config = RunConfig.model_validate(config).model_dump(mode="json")
    # the dataset is matched by its fingerprint, not by the path it was read from
    out = {k: v for k, v in config.items() if k not in OPERATIONAL and k != "dataset"}
    if isinstance(out.get("sim"), dict):
        out["sim"] = {
            k: v
            for k, v in out["sim"].items()
            if k not in SIM_OPERATIONAL and v is not None and v != []
        }
    return out


def find_run(
    store: Store, config: RunConfig, dataset_fingerprint: str, policy_hash: str
) -> RunRow | None:
    """The run that already measures this cell: a finished one, else the latest partial one."""
    want = measuring_config(config.model_dump(mode="json"))
    matches = [
        row
        for row in store.list_runs()
        if row.dataset_fingerprint == dataset_fingerprint
        and row.policy_hash == policy_hash
        and measuring_config(row.config) == want
    ]
    done = [r for r in matches if r.status == "success"]
    if done:
        return done[-1]
    return matches[-1] if matches else None
