"""The value every client returns: one answer with its reasoning kept apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class TokenLogprobs:
    """One generated token, its logprob and the top alternatives at its position."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


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
    #: Per generated token, when the request asked for ``logprobs`` (scores).
    logprobs: tuple[TokenLogprobs, ...] | None = None


@dataclass(frozen=True, slots=True)
class NativeRequest:
    """A request in a guard model's own format: the route and the fields that vary per
    request (``messages`` or ``prompt``, ``chat_template_kwargs``, ...); the client adds
    the run's constant fields (model, max_tokens, temperature, logprobs)."""

    route: Literal["chat", "completions"]
    fields: Mapping[str, Any] = field(default_factory=dict)
    #: Requests sharing a prefix (one policy's) share this key: endpoint affinity.
    affinity: str = ""
