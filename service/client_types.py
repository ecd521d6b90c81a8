"""The values every client takes and returns: what the user side of a request holds, and one
answer with its reasoning kept apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

#: A conversation after the system prompt: ``(role, content)`` turns, roles ``user`` /
#: ``assistant``; the last turn is the one judged.
Conversation = tuple[tuple[str, str], ...]
#: What a request carries after the system prompt: one user message, or real role turns.
UserInput = str | Conversation


def turn_messages(user: UserInput) -> list[dict[str, Any]]:
    """The chat ``messages`` after the system message."""
    if isinstance(user, str):
        return [{"role": "user", "content": user}]
    return [{"role": role, "content": content} for role, content in user]


def encoded_turns(user: UserInput) -> bytes:
    """``turn_messages(user)`` JSON-encoded without the brackets (to follow the system)."""
    return orjson.dumps(turn_messages(user))[1:-1]


def transcript(user: UserInput) -> str:
    """One user message for protocols without role turns (a client-side prompt template)."""
    if isinstance(user, str):
        return user
    names = {"user": "User", "assistant": "Assistant"}
    return "\n\n".join(f"{names.get(role, role)}:\n{content}" for role, content in user)


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
