"""What a strategy is: how one sample becomes requests, and how their answers become a verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..parsers import ParseContext, Verdict


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One request of a sample: a system prompt (shared across samples) and how to parse it."""

    key: str
    system: str
    ctx: ParseContext
    fmt: str = "json"


class Strategy(Protocol):
    name: str

    def plan(self) -> tuple[RequestSpec, ...]:
        """The requests every sample gets (their system prompts are rendered once)."""
        ...

    def combine(self, verdicts: Sequence[Verdict]) -> Verdict:
        """The sample's verdict from its parts' verdicts (same order as :meth:`plan`)."""
        ...
