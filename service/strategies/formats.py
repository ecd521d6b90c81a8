"""Which output format a request's answer is parsed in.

The run's ``output_format`` wins; then the model's family, recognised by its name (a
guard model answers in its own format whatever the prompt asks: ``Llama-Guard-3-8B`` ->
``llama_guard3``); then the policy file's ``output:`` front matter; then ``json``, the
format the shipped prompt templates ask for.  A format no parser knows is an input error
naming the policy file, found before any request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ConfigError, PolicyError
from ..parsers import FORMATS
from ..policies import Policy

DEFAULT_FORMAT = "json"

#: Model name patterns -> output format, first match wins.
FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), fmt)
    for pattern, fmt in (
        (r"llama[-_ ]?guard[-_ ]?4", "llama_guard4"),
        (r"llama[-_ ]?guard[-_ ]?3", "llama_guard3"),
        (r"llama[-_ ]?guard[-_ ]?2", "llama_guard2"),
        (r"llamaguard[-_ ]?7b", "llama_guard1"),
        (r"llama[-_ ]?guard", "llama_guard"),
        (r"wildguard", "wildguard"),
        (r"guardreasoner", "guardreasoner"),
        (r"shieldgemma", "shieldgemma"),
        (r"granite[-_ ]?guardian", "granite_guardian"),
        (r"qwen3?[-_ ]?guard", "qwen3guard"),
    )
)


def family_format(model: str | None) -> str | None:
    """The output format a guard model's name implies, or ``None`` for a prompted model."""
    if not model:
        return None
    for pattern, fmt in FAMILIES:
        if pattern.search(model):
            return fmt
    return None


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError("output-format", f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def policy_format(policy: Policy, override: str | None) -> str:
    """The format of a one-policy request."""
    if override is not None:
        check_format(override)
        return override
    if policy.output is None:
        return DEFAULT_FORMAT
    if policy.output not in FORMATS:
        raise PolicyError(
            policy.path,
            f"front matter: output: unknown format {policy.output!r} (known: {', '.join(FORMATS)})",
        )
    return policy.output


def shared_format(policies: Iterable[Policy], override: str | None) -> str:
    """The format of a request carrying every policy: they must agree."""
    if override is not None:
        check_format(override)
        return override
    chosen: dict[str, Policy] = {}
    for policy in policies:
        chosen.setdefault(policy_format(policy, None), policy)
    if len(chosen) > 1:
        (a, pa), (b, pb) = list(chosen.items())[:2]
        raise PolicyError(
            pb.path,
            f"front matter: output: {b!r}, but {pa.path} says {a!r}: one request carrying "
            "every policy needs one format (use --strategy gauntlet or --output-format)",
        )
    return next(iter(chosen), DEFAULT_FORMAT)
