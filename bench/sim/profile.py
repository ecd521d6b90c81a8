"""Performance profiles of the simulated server, read from ``profiles/*.toml``.

A profile is data: the engine limits (``max_num_seqs``, ``max_num_batched_tokens``, KV
pool, prefix caching), the engine-step cost model and the output-length distribution of
one model on one GPU, with the public figures it was calibrated from kept beside the
numbers (see docs/simulator.md and /work/shared/research/vllm_facts.md section 1).

The step model (vllm_facts section 1.2)::

    step = base + per_seq_small * min(B, small_batch) + per_seq_large * max(0, B - small_batch)
           + prefill_per_token * P + kv_read_per_seq_per_1k_tokens * sum(context) / 1000

where B is the number of sequences in the step and P the prompt tokens computed in it.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

#: The profile ``bench run --sim`` and ``bench sim`` use unless told otherwise.
DEFAULT_PROFILE = "gpt-oss-safeguard-20b-h100"
#: Short names accepted for the shipped profiles.
ALIASES = {
    "gpt-oss-20b": "gpt-oss-20b-h100",
    "gpt-oss-safeguard-20b": "gpt-oss-safeguard-20b-h100",
    "llama-guard": "llama-guard-3-8b-rtx4090",
    "small": "llama-guard-3-8b-rtx4090",
    "ollama": "ollama-gpt-oss-20b",
}
EFFORTS = ("low", "medium", "high")


class ProfileError(ValueError):
    """A profile that cannot be found or read; the message names the file and field."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    model: str
    hardware: str
    calibrated_from: tuple[str, ...]
    # engine
    max_num_seqs: int
    max_num_batched_tokens: int
    kv_cache_tokens: int
    block_size: int
    prefix_caching: bool
    # step cost (seconds)
    base_seconds: float
    per_seq_small_seconds: float
    small_batch: int
    per_seq_large_seconds: float
    prefill_per_token_seconds: float
    kv_read_per_seq_per_1k_tokens_seconds: float
    frontend_overhead_seconds: float
    # output
    reasoning: bool
    reasoning_field: str
    reasoning_tokens: dict[str, int]
    reasoning_sigma: float
    style: str

    def step_seconds(self, seqs: int, prefill_tokens: int, context_tokens: int) -> float:
        """Model time of one engine step (before the time scale)."""
        if seqs <= 0:
            return 0.0
        small = min(seqs, self.small_batch)
        large = max(0, seqs - self.small_batch)
        return (
            self.base_seconds
            + self.per_seq_small_seconds * small
            + self.per_seq_large_seconds * large
            + self.prefill_per_token_seconds * prefill_tokens
            + self.kv_read_per_seq_per_1k_tokens_seconds * context_tokens / 1000.0
        )

    def reasoning_median(self, effort: str | None) -> int:
        if not self.reasoning:
            return 0
        return int(self.reasoning_tokens.get(effort or "medium", 0))

    def with_overrides(self, **changes: Any) -> Profile:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_record(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["calibrated_from"] = list(self.calibrated_from)
        return out


def _dir() -> Path:
    return Path(str(resources.files(__package__).joinpath("profiles")))


def available() -> list[str]:
    return sorted(p.stem for p in _dir().glob("*.toml"))


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name (or alias), or a TOML file by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.is_file():
        path = candidate
    else:
        name = ALIASES.get(name_or_path, name_or_path)
        path = _dir() / f"{name}.toml"
        if not path.is_file():
            raise ProfileError(
                f"unknown simulator profile {name_or_path!r}; known: {', '.join(available())}"
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    return _from_dict(data, path)


def _from_dict(data: dict[str, Any], path: Path) -> Profile:
    def get(section: str | None, key: str, kind: type) -> Any:
        table = data if section is None else data.get(section, {})
        where = f"{section}.{key}" if section else key
        if key not in table:
            raise ProfileError(f"{path}: {where}: missing")
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind):
            raise ProfileError(f"{path}: {where}: expected {kind.__name__}")
        if isinstance(value, (int, float)) and value < 0:
            raise ProfileError(f"{path}: {where}: must be >= 0")
        return value

    efforts = get("output", "reasoning_tokens", dict)
    for effort in EFFORTS:
        if not isinstance(efforts.get(effort), int):
            raise ProfileError(f"{path}: output.reasoning_tokens.{effort}: expected an integer")
    profile = Profile(
        name=get(None, "name", str),
        description=get(None, "description", str),
        model=get(None, "model", str),
        hardware=get(None, "hardware", str),
        calibrated_from=tuple(get(None, "calibrated_from", list)),
        max_num_seqs=get("engine", "max_num_seqs", int),
        max_num_batched_tokens=get("engine", "max_num_batched_tokens", int),
        kv_cache_tokens=get("engine", "kv_cache_tokens", int),
        block_size=get("engine", "block_size", int),
        prefix_caching=get("engine", "prefix_caching", bool),
        base_seconds=get("step", "base_seconds", float),
        per_seq_small_seconds=get("step", "per_seq_small_seconds", float),
        small_batch=get("step", "small_batch", int),
        per_seq_large_seconds=get("step", "per_seq_large_seconds", float),
        prefill_per_token_seconds=get("step", "prefill_per_token_seconds", float),
        kv_read_per_seq_per_1k_tokens_seconds=get(
            "step", "kv_read_per_seq_per_1k_tokens_seconds", float
        ),
        frontend_overhead_seconds=get("step", "frontend_overhead_seconds", float),
        reasoning=get("output", "reasoning", bool),
        reasoning_field=get("output", "reasoning_field", str),
        reasoning_tokens={e: int(efforts[e]) for e in EFFORTS},
        reasoning_sigma=get("output", "reasoning_sigma", float),
        style=get("output", "style", str),
    )
    if profile.max_num_seqs < 1 or profile.block_size < 1:
        raise ProfileError(f"{path}: engine: max_num_seqs and block_size must be >= 1")
    if profile.max_num_batched_tokens < profile.max_num_seqs and profile.max_num_seqs > 1:
        # vLLM requires max_num_batched_tokens >= max_num_seqs
        raise ProfileError(f"{path}: engine.max_num_batched_tokens: must be >= max_num_seqs")
    return profile
