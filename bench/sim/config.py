"""The simulated server's one frozen config, and its construction from a run's ``sim`` settings.

Fields left ``None`` take the profile's value; ``time_scale`` multiplies every model
duration (0 = answer at once, the zero-latency mode used by tests and for measuring the
client's own overhead).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .answers import AnswerRates
from .faults import FaultConfig, parse_faults
from .profile import DEFAULT_PROFILE, Profile, ProfileError, load_profile
from .styles import STYLE_NAMES

REASONING_FIELDS = ("reasoning", "reasoning_content", "both", "none")


class SimConfigError(ValueError):
    """A simulator setting that cannot be used; the message starts with the setting's name."""


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Settings of the simulated server (validated by the CLI that builds it)."""

    datasets: tuple[str, ...] = ()
    model: str = "sim-guard"
    #: More model names it lists in ``/v1/models`` beside ``model`` (an ensemble's members).
    also_serves: tuple[str, ...] = ()
    error_rate: float = 0.0
    seed: int = 0
    profile: str = DEFAULT_PROFILE
    time_scale: float = 1.0
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    kv_cache_tokens: int | None = None
    prefix_caching: bool | None = None
    style: str = "auto"
    refusal_rate: float = 0.0
    empty_rate: float = 0.0
    truncate_rate: float = 0.0
    #: Median reasoning tokens for every effort (0 = no reasoning); ``None``: the profile's.
    reasoning_tokens: int | None = None
    reasoning_field: str | None = None  # reasoning | reasoning_content | both | none
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Serve vLLM 0.19+'s ``/v1/chat/completions/batch`` (off: an older vLLM, 404 there).
    batch_chat_route: bool = True
    #: Each model name errs on its own draws (off: every model makes the same mistakes), so
    #: an ensemble of simulated models has disagreements to vote on.
    independent_models: bool = False
    #: Logprobs: how much surer right answers are than wrong ones (logits; 0 = no better
    #: than the verdicts themselves).  See ``bench/sim/logprobs.py``.
    logprob_separation: float = 2.0
    #: The model names it serves, as vLLM's ``--served-model-name``: any other is a 404.
    #: Empty: any name is served (in-process runs and tests ask for whatever they like).
    served_models: tuple[str, ...] = ()
    #: vLLM's ``--max-model-len``: longer prompts and larger ``max_tokens`` are a 400.
    max_model_len: int = 131072
    # the first version's latency knobs: when any is set, each request takes
    # (base + prompt * per_prompt + completion * per_output) * time_scale, at most
    # max_num_seqs at once, instead of the step model
    base_latency: float | None = None
    per_prompt_token: float | None = None
    per_output_token: float | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "refusal_rate", "empty_rate", "truncate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SimConfigError(f"{name}: {value} is not between 0 and 1")
        if self.refusal_rate + self.empty_rate + self.truncate_rate > 1.0:
            raise SimConfigError("refusal_rate + empty_rate + truncate_rate: more than 1")
        if self.time_scale < 0:
            raise SimConfigError("time_scale: must be >= 0")
        for name in ("max_num_seqs", "max_num_batched_tokens", "kv_cache_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SimConfigError(f"{name}: must be >= 1")
        if self.style not in STYLE_NAMES:
            raise SimConfigError(f"style: {self.style!r} is not one of {', '.join(STYLE_NAMES)}")
        if self.reasoning_field is not None and self.reasoning_field not in REASONING_FIELDS:
            raise SimConfigError(f"reasoning_field: one of {', '.join(REASONING_FIELDS)}")
        try:
            self.resolved_profile()
        except ProfileError as exc:
            raise SimConfigError(f"profile: {exc}") from exc

    def resolved_profile(self) -> Profile:
        """The profile with this config's overrides applied."""
        base = load_profile(self.profile)
        changes: dict[str, Any] = {
            "max_num_seqs": self.max_num_seqs,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "kv_cache_tokens": self.kv_cache_tokens,
            "prefix_caching": self.prefix_caching,
            "reasoning_field": self.reasoning_field,
        }
        profile = base.with_overrides(**changes)
        reasoning_tokens = self.reasoning_tokens
        if reasoning_tokens is None and self.fixed_latency:
            reasoning_tokens = 0  # the first version had no reasoning unless asked
        if self.max_num_seqs is not None and profile.max_num_batched_tokens < self.max_num_seqs:
            profile = dataclasses.replace(profile, max_num_batched_tokens=self.max_num_seqs)
        if reasoning_tokens is not None:
            n = reasoning_tokens
            profile = dataclasses.replace(
                profile,
                reasoning=n > 0,
                reasoning_tokens=dict.fromkeys(("low", "medium", "high"), n),
            )
        return profile

    @property
    def fixed_latency(self) -> bool:
        """The first version's latency knobs are set: a fixed time per request."""
        return any(
            v is not None for v in (self.base_latency, self.per_prompt_token, self.per_output_token)
        )

    def fixed_seconds(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            (self.base_latency or 0.0)
            + prompt_tokens * (self.per_prompt_token or 0.0)
            + completion_tokens * (self.per_output_token or 0.0)
        ) * self.time_scale

    @property
    def rates(self) -> AnswerRates:
        return AnswerRates(self.error_rate, self.refusal_rate, self.empty_rate, self.truncate_rate)

    def as_record(self) -> dict[str, Any]:
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("datasets", "faults")
        }
        out["faults"] = self.faults.as_record()
        return out


#: Keys a run's ``sim`` settings (``RunConfig.sim``, ``[sim]`` of a matrix) may carry.
SETTING_KEYS = (
    "error_rate",
    "seed",
    "profile",
    "time_scale",
    "max_num_seqs",
    "max_num_batched_tokens",
    "kv_cache_tokens",
    "prefix_caching",
    "style",
    "logprob_separation",
    "refusal_rate",
    "empty_rate",
    "truncate_rate",
    "independent_models",
    "reasoning_tokens",
    "reasoning_field",
)


def sim_config_from_settings(
    settings: Mapping[str, Any], *, datasets: tuple[str, ...], model: str
) -> SimConfig:
    """A :class:`SimConfig` from a run's ``sim`` dict (unknown keys are ignored).

    ``faults`` is a list of ``KIND=RATE`` specs; ``fault_retry_after``,
    ``fault_slow_seconds`` tune them.
    """
    values = {k: settings[k] for k in SETTING_KEYS if settings.get(k) is not None}
    knobs = {
        name: float(settings[key])
        for key, name in (
            ("fault_retry_after", "retry_after"),
            ("fault_slow_seconds", "slow_seconds"),
        )
        if settings.get(key) is not None
    }
    faults = parse_faults(list(settings.get("faults") or ()), **knobs)
    return SimConfig(datasets=datasets, model=model, faults=faults, **values)
