"""Turning a JSON submission into a validated :class:`RunConfig` (or a 400 naming the field).

A submission's keys are ``bench run``'s option names (``dataset``, ``policies``,
``strategy``, ``model``, ``base_url``, ``concurrency``, ..., ``sim`` and the ``sim_*``
settings; ``-`` and ``_`` are the same).  Paths are confined to the service's roots
before anything reads them.  A matrix is a base submission and axes whose values are
crossed (``{"base": {...}, "axes": {"model": [...], "policies": [...]}}``).
"""

from __future__ import annotations

import itertools
from typing import Any

from ..chat_templates import SHIPPED_CHAT_TEMPLATES
from ..config import RunConfig, build_run_config
from ..errors import ConfigError, DatasetError, InputError, PolicyError
from .security import confine_dataset, confine_file, confine_policies
from .settings import ServiceConfig, normalise_url

#: A submission's simulator keys: name in the settings, type, bounds (also its OpenAPI schema).
SIM_KEYS: dict[str, tuple[str, type, float | None, float | None]] = {
    "sim_error_rate": ("error_rate", float, 0.0, 1.0),
    "sim_seed": ("seed", int, 0, 2**32 - 1),
    "sim_time_scale": ("time_scale", float, 0.0, 1000.0),
    "sim_max_num_seqs": ("max_num_seqs", int, 1, 65536),
}
_SIM_DEFAULTS = {"error_rate": 0.1, "seed": 0, "time_scale": 1.0, "max_num_seqs": 256}
#: Set by the service, not by a submission.
_RESERVED = ("backend",)


def _field(key: str) -> str:
    return key.replace("_", "-")


def _sim_settings(values: dict[str, Any], sim: Any) -> dict[str, Any]:
    settings = dict(_SIM_DEFAULTS)
    given = {k: values.pop(k) for k in list(values) if k in SIM_KEYS}
    if isinstance(sim, dict):
        given.update({f"sim_{k}": v for k, v in sim.items()})
    for key, value in given.items():
        if key not in SIM_KEYS:
            raise ConfigError(_field(key), "unknown simulator setting")
        name, kind, low, high = SIM_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(_field(key), "must be a number")
        if kind is int and not isinstance(value, int):
            raise ConfigError(_field(key), "must be an integer")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"between {low} and {high}"
            raise ConfigError(_field(key), f"must be {bounds}")
        settings[name] = kind(value)
    return settings


def config_from_submission(body: Any, settings: ServiceConfig) -> RunConfig:
    """Validate one submission.  Raises :class:`ConfigError` naming the field."""
    if not isinstance(body, dict):
        raise ConfigError("body", "must be a JSON object")
    values = {str(k).replace("-", "_"): v for k, v in body.items()}
    for key in _RESERVED:
        if key in values:
            raise ConfigError(_field(key), "is set by the service (use 'sim')")
    sim = values.pop("sim", None)
    if sim is True or isinstance(sim, dict):
        if settings.sim_backend is None:
            raise ConfigError("sim", "this service cannot start a simulated server")
        values["sim"] = _sim_settings(values, sim)
        values["backend"] = "simulated"
    elif sim not in (None, False):
        raise ConfigError("sim", "must be true, false or an object of simulator settings")
    else:
        stray = [k for k in values if k in SIM_KEYS]
        if stray:
            raise ConfigError(_field(stray[0]), "only with sim: true")
    if "dataset" not in values:
        raise ConfigError("dataset", "is required")
    if isinstance(values["dataset"], str):
        values["dataset"] = confine_dataset(values["dataset"], settings.dataset_roots)
    if isinstance(values.get("policies"), str):
        values["policies"] = confine_policies(values["policies"], settings.policy_roots)
    template = values.get("chat_template")
    if isinstance(template, str) and template not in SHIPPED_CHAT_TEMPLATES:
        values["chat_template"] = confine_file(template, settings.policy_roots, "chat-template")
    if values.get("backend") != "simulated":
        _check_upstreams(values, settings)
    return build_run_config(values, strict=True)


def _check_upstreams(values: dict[str, Any], settings: ServiceConfig) -> None:
    """With an allow-list, every server a job talks to is one the operator named.

    The operator's API key goes with every request, so a job may only point at upstreams
    the operator listed (``bench serve --upstream``); without ``base_url`` a job goes to
    the first of them.
    """
    allowed = settings.upstreams
    if not allowed:
        return
    values.setdefault("base_url", allowed[0])
    for key in ("base_url", "endpoints"):
        given = values.get(key)
        urls = [given] if isinstance(given, str) else given if isinstance(given, list) else []
        for url in urls:
            if not isinstance(url, str) or normalise_url(url) not in allowed:
                raise ConfigError(_field(key), "not an upstream server of this service")


def input_field(exc: InputError) -> str:
    """The submission field an input error is about."""
    if isinstance(exc, ConfigError):
        return exc.field
    if isinstance(exc, DatasetError):
        return "dataset"
    if isinstance(exc, PolicyError):
        return "policies"
    return "config"


def expand_matrix(body: Any, limit: int) -> list[dict[str, Any]]:
    """``{"base": {...}, "axes": {key: [values]}}`` -> one submission per combination."""
    if not isinstance(body, dict):
        raise ConfigError("body", "must be a JSON object")
    unknown = set(body) - {"base", "axes"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown key (expected 'base' and 'axes')")
    base = body.get("base", {})
    axes = body.get("axes", {})
    if not isinstance(base, dict):
        raise ConfigError("base", "must be an object")
    if not isinstance(axes, dict) or not axes:
        raise ConfigError("axes", "must be a non-empty object of lists")
    names = list(axes)
    for name in names:
        values = axes[name]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"axes.{name}", "must be a non-empty list")
    count = 1
    for name in names:
        count *= len(axes[name])
    if count > limit:
        raise ConfigError("axes", f"{count} runs, more than this service's limit of {limit}")
    return [
        {**base, **dict(zip(names, combo, strict=True))}
        for combo in itertools.product(*(axes[n] for n in names))
    ]
