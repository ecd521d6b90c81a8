"""``gauntlet``: one request per policy, all sent concurrently; the verdict is the union.

This is how the seed's numbers were produced (serially, there).  The runner sends a
sample's requests without waiting for one another, so a sample takes about one
request's latency, not one per policy.  Each part's answer stays in the sample's
record.  A sample whose any part fails to parse is a parse failure: a union with a hole
in it is not a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..parsers import ParseContext, Verdict
from ..policies import PolicySet
from ..prompts import PromptOptions, single_policy_prompt
from .base import RequestSpec
from .formats import policy_format


class GauntletStrategy:
    name = "gauntlet"

    def __init__(
        self, policies: PolicySet, options: PromptOptions, output_format: str | None = None
    ) -> None:
        categories = policies.categories
        specs = []
        for policy in policies.policies:
            fmt = policy_format(policy, output_format)
            specs.append(
                RequestSpec(
                    key=policy.category,
                    system=single_policy_prompt(policy, options, fmt),
                    ctx=ParseContext(
                        categories=categories, target=policy.category, task=options.task
                    ),
                    fmt=fmt,
                )
            )
        self._specs = tuple(specs)

    def plan(self) -> tuple[RequestSpec, ...]:
        return self._specs

    def combine(self, verdicts: Sequence[Verdict]) -> Verdict:
        violated: set[str] = set()
        for spec, verdict in zip(self._specs, verdicts, strict=True):
            if verdict.categories is None:
                return Verdict.fail(f"{spec.key}: {verdict.reason}")
            violated |= verdict.categories
        return Verdict(frozenset(violated))
