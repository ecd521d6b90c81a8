"""``multi``: one request carries every policy; the model names the violated set."""

from __future__ import annotations

from collections.abc import Sequence

from ..parsers import ParseContext, Verdict
from ..policies import PolicySet
from ..prompts import PromptOptions, multi_policy_prompt
from .base import RequestSpec


class MultiStrategy:
    name = "multi"

    def __init__(self, policies: PolicySet, options: PromptOptions) -> None:
        self._specs = (
            RequestSpec(
                key="all",
                system=multi_policy_prompt(policies, options),
                ctx=ParseContext(categories=policies.categories),
            ),
        )

    def plan(self) -> tuple[RequestSpec, ...]:
        return self._specs

    def combine(self, verdicts: Sequence[Verdict]) -> Verdict:
        return verdicts[0]
