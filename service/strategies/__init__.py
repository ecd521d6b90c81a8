"""Strategies by name.  A new strategy is one new module and one line here.

:func:`from_config` builds the strategy a :class:`RunConfig` asks for; the runner and
``bench rescore`` both use it, so a stored run's plan (keys, formats, parse contexts)
can be rebuilt from its config alone.
"""

from __future__ import annotations

from ..config import RunConfig
from ..policies import PolicySet
from ..prompt_formats import resolve_format
from ..prompts import PromptOptions
from .base import Part, RequestSpec, Strategy, judge
from .ensemble import VOTES, Builder, EnsembleStrategy, build_ensemble, parse_members
from .formats import family_format
from .gauntlet import GauntletStrategy
from .multi import MultiStrategy
from .native import NativeStrategy

#: Strategies a sample can be put through directly (and ensemble members).
STRATEGIES: dict[str, Builder] = {
    "multi": MultiStrategy,
    "gauntlet": GauntletStrategy,
}
NAMES = (*STRATEGIES, "ensemble")

__all__ = [
    "NAMES",
    "STRATEGIES",
    "VOTES",
    "EnsembleStrategy",
    "Part",
    "RequestSpec",
    "Strategy",
    "build_strategy",
    "from_config",
    "judge",
    "parse_members",
]


def build_strategy(
    name: str,
    policies: PolicySet,
    options: PromptOptions,
    *,
    output_format: str | None = None,
    model: str | None = None,
    members: tuple[str, ...] = (),
    vote: str = "majority",
    prompt_format: str | None = None,
    reasoning_effort: str | None = None,
) -> Strategy:
    """The strategy ``name``; raises :class:`InputError` on a bad member, vote or format.

    Answers are parsed in ``output_format`` if given, else in the format ``model``'s
    family implies, else in each policy's declared ``output:`` (see :mod:`.formats`).
    A native ``prompt_format`` (or ``auto`` and a model of a known family) builds the
    model's own requests instead (:mod:`.native`).
    """
    native = resolve_format(prompt_format, model)
    if native is not None:
        return NativeStrategy(name, native, policies, options, reasoning_effort)
    if name == "ensemble":
        return build_ensemble(policies, options, output_format, model, members, vote, STRATEGIES)
    return STRATEGIES[name](policies, options, output_format or family_format(model))


def from_config(config: RunConfig, policies: PolicySet) -> Strategy:
    return build_strategy(
        config.strategy,
        policies,
        PromptOptions(
            chain_of_thought=config.chain_of_thought,
            confidence=config.scores == "confidence",
            task=config.task,
        ),
        output_format=config.output_format,
        model=config.model,
        members=config.ensemble_members,
        vote=config.vote,
        prompt_format=config.prompt_format,
        reasoning_effort=config.reasoning_effort,
    )
