"""What a strategy is: how one sample becomes requests, and how their answers become a verdict.

:func:`judge` is the one place where a sample's parts become its verdict and outcome;
the live run and ``bench rescore`` both call it, so a rescore with unchanged parsers
reproduces the run exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..client_types import NativeRequest
from ..datasets import Sample
from ..errors import ErrorKind, error_label
from ..parsers import ParseContext, Verdict
from ..scores import RULES, ScoreRule
from ..scoring import ERROR, PARSE_FAILURE, Gold, Outcome, outcome_of


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One request of a sample: a system prompt (shared across samples) and how to parse it.

    ``model`` and ``reasoning_effort`` override the run's for this request (``ensemble``
    members); ``None`` keeps the run's.
    """

    key: str
    system: str
    ctx: ParseContext
    fmt: str = "json"
    model: str | None = None
    reasoning_effort: str | None = None
    #: A native prompt format's request, rendered per sample (``None``: system + user chat).
    native: Callable[[Sample], NativeRequest] | None = None
    #: How this request's score is read (a native format's own; else by ``fmt``).
    score_rule: ScoreRule | None = None

    @property
    def rule(self) -> ScoreRule | None:
        return self.score_rule or RULES.get(self.fmt)


class Strategy(Protocol):
    name: str

    def plan(self) -> tuple[RequestSpec, ...]:
        """The requests every sample gets (their system prompts are rendered once)."""
        ...

    def combine(self, verdicts: Sequence[Verdict]) -> Verdict:
        """The sample's verdict from its parts' verdicts (same order as :meth:`plan`)."""
        ...


class Part(Protocol):
    """What :func:`judge` reads of one request's outcome (a ``RequestOutcome``)."""

    key: str
    error: str | None
    error_kind: ErrorKind | None
    error_status: int | None
    verdict: Verdict | None


def judge(strategy: Strategy, parts: Sequence[Part], gold: Gold) -> tuple[Verdict, Outcome]:
    """A sample's verdict and outcome: ``error`` if any request failed, ``parse_failure``
    if the combined verdict is a failure, else scored against ``gold``."""
    failed = [p for p in parts if p.error is not None]
    if failed:
        reason = "; ".join(
            f"{p.key}: {error_label(p.error_kind or ErrorKind.ERROR, p.error_status)}: {p.error}"
            for p in failed
        )
        return Verdict.fail(reason), ERROR
    verdict = strategy.combine([p.verdict or Verdict.fail("no answer") for p in parts])
    if verdict.categories is None:
        return verdict, PARSE_FAILURE
    return verdict, outcome_of(gold, verdict.categories, None)
