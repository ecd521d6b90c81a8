"""Strategies by name.  A new strategy is one new module and one line here."""

from __future__ import annotations

from collections.abc import Callable

from ..policies import PolicySet
from ..prompts import PromptOptions
from .base import RequestSpec, Strategy
from .gauntlet import GauntletStrategy
from .multi import MultiStrategy

STRATEGIES: dict[str, Callable[[PolicySet, PromptOptions], Strategy]] = {
    "multi": MultiStrategy,
    "gauntlet": GauntletStrategy,
}

__all__ = ["STRATEGIES", "RequestSpec", "Strategy", "build_strategy"]


def build_strategy(name: str, policies: PolicySet, options: PromptOptions) -> Strategy:
    return STRATEGIES[name](policies, options)
