"""``multi``: one request carries every policy; the model names the violated set."""

from __future__ import annotations

from collections.abc import Sequence

from ..parsers import ParseContext, Verdict
from ..policies import PolicySet
from ..prompts import PromptOptions, multi_policy_prompt
from .base import RequestSpec
from .formats import shared_format


class MultiStrategy:
    name = "multi"

    def __init__(
        self, policies: PolicySet, options: PromptOptions, output_format: str | None = None
    ) -> None:
        fmt = shared_format(policies.policies, output_format)
        self._specs = (
            RequestSpec(
                key="all",
                system=multi_policy_prompt(policies, options, fmt),
                ctx=ParseContext(categories=policies.categories, task=options.task),
                fmt=fmt,
            ),
        )

    def plan(self) -> tuple[RequestSpec, ...]:
        return self._specs

    def combine(self, verdicts: Sequence[Verdict]) -> Verdict:
        return verdicts[0]
