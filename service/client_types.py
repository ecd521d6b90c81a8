"""The value every client returns: one answer with its reasoning kept apart."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Completion:
    """One answer: final ``content``, separate ``reasoning``, usage and timing.

    ``ttft`` (time to the first token) is known only for streamed answers.
    """

    content: str | None
    reasoning: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency: float
    ttft: float | None = None
