"""Parsers: a model's raw answer in, a :class:`Verdict` out.

Public API::

    from policybench.service.parsers import parse, ParseContext, FORMATS
    parse('{"violations": ["violence"]}', "json", ParseContext(categories=("violence",)))
    parse("unsafe\\nS1", "llama_guard", ParseContext(categories=("violence", "illegal")))

Each output family lives in its own module and registers here by name, with a one-line
description in :data:`DESCRIPTIONS` (``bench parse --help`` lists them).  ``parse``
never raises: anything that is not a clear verdict comes back as a failure with a
reason, never as "safe".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from . import (
    binary,
    guardreasoner,
    json_verdict,
    llama_guard,
    llama_guard_policy,
    policy_report,
    qwen3guard,
    valid_invalid,
    violation_safe,
    wildguard,
    yes_no,
)
from .base import EMPTY, UNMAPPED, ParseContext, Verdict, precheck
from .window import HEAD_CHARS, TAIL_CHARS, truncation_note

Parser = Callable[[str, ParseContext], Verdict]

FORMATS: dict[str, Parser] = {
    "json": json_verdict.parse,
    "binary": binary.parse,
    "violation_safe": violation_safe.parse,
    "valid_invalid": valid_invalid.parse,
    "llama_guard": llama_guard.parse_v3,
    "llama_guard1": llama_guard.parse_v1,
    "llama_guard2": llama_guard.parse_v2,
    "llama_guard3": llama_guard.parse_v3,
    "llama_guard4": llama_guard.parse_v4,
    "llama_guard_policy": llama_guard_policy.parse,
    "wildguard": wildguard.parse,
    "wildguard_request": wildguard.parse_request,
    "wildguard_response": wildguard.parse_response,
    "guardreasoner": guardreasoner.parse,
    "yes_no": yes_no.parse,
    "shieldgemma": yes_no.parse,
    "granite_guardian": yes_no.parse,
    "qwen3guard": qwen3guard.parse,
    "qwen3guard_loose": qwen3guard.parse_loose,
    "policy_report": policy_report.parse,
}

DESCRIPTIONS: dict[str, str] = {
    "json": 'JSON verdict: {"violations": [...]}, per-category flags, {"violation": 0|1}',
    "binary": "bare 0 / 1 (1 = violates)",
    "violation_safe": "VIOLATION / SAFE",
    "valid_invalid": "VALID / INVALID (INVALID = violates)",
    "llama_guard": "Llama Guard: safe / unsafe + codes (Llama Guard 3 table)",
    "llama_guard1": "Llama Guard 1: safe / unsafe + O1-O6",
    "llama_guard2": "Llama Guard 2: safe / unsafe + S1-S11",
    "llama_guard3": "Llama Guard 3: safe / unsafe + S1-S14",
    "llama_guard4": "Llama Guard 4: safe / unsafe + S1-S14",
    "llama_guard_policy": "Llama Guard over your policies: S<i> = the i-th policy listed",
    "wildguard": "WildGuard: the task's line (Harmful request / Harmful response / Response refusal)",
    "wildguard_request": "WildGuard: the Harmful request line only",
    "wildguard_response": "WildGuard: the Harmful response line only",
    "guardreasoner": "GuardReasoner: Answers: trailer, the task's Request/Response/Completion line",
    "yes_no": "Yes / No (Yes = violates), <score> tags read first",
    "shieldgemma": "ShieldGemma: same as yes_no",
    "granite_guardian": "Granite Guardian: same as yes_no (<score> yes </score>)",
    "qwen3guard": "Qwen3Guard: Safety: Unsafe|Controversial|Safe + Categories (strict)",
    "qwen3guard_loose": "Qwen3Guard: Controversial counts as safe",
    "policy_report": "gpt-oss-safeguard report: **Violated Policies:** [a, b] (json falls back to it)",
}

__all__ = [
    "DESCRIPTIONS",
    "EMPTY",
    "FORMATS",
    "HEAD_CHARS",
    "INLINE_CHARS",
    "TAIL_CHARS",
    "UNMAPPED",
    "ParseContext",
    "Parser",
    "Verdict",
    "parse",
    "parse_off_loop",
]


def parse(
    content: str | None, fmt: str, ctx: ParseContext, finish_reason: str | None = None
) -> Verdict:
    """Parse ``content`` (the final answer, never the reasoning) in format ``fmt``.

    Returns the violated categories, or a failure with its reason: an empty answer, a
    refusal, an answer cut off by the token limit (``finish_reason="length"``) or one
    that names no label of the format.  Never raises.
    """
    early = precheck(content, finish_reason)
    if early is not None:
        return early
    assert content is not None
    try:
        parser = FORMATS[fmt]
    except KeyError:
        return Verdict.fail(f"unknown output format {fmt!r}")
    # Whitespace around the answer is dropped first (C speed, linear), so that a label
    # followed by a megabyte of spaces is still that label.
    original, content = content, content.strip()
    if not content:
        return Verdict.fail("empty answer")
    try:
        verdict = parser(content, ctx)
    except Exception as exc:  # a parser bug must not lose a sample
        return Verdict.fail(f"parser error: {type(exc).__name__}: {exc}")
    if not verdict.ok:
        note = truncation_note(original)
        if note is not None:
            verdict = Verdict.fail(f"{verdict.reason} ({note})")
    if verdict.ok and finish_reason == "length":
        # A verdict read from a truncated answer may be a quoted example, not the answer.
        return Verdict.fail(
            f"cut off by the token limit (partial answer read as {verdict_text(verdict)})"
        )
    return verdict


#: Answers longer than this are parsed in a worker thread (:func:`parse_off_loop`).  A
#: parse reads a bounded window, so even a 1 MB answer costs about a millisecond (``bench
#: perf parse``); the thread keeps the dispatcher's loop free of even that.
INLINE_CHARS = 64 * 1024


async def parse_off_loop(
    content: str | None, fmt: str, ctx: ParseContext, finish_reason: str | None = None
) -> Verdict:
    """:func:`parse` for code on an event loop: long answers go to a worker thread."""
    if content is not None and len(content) > INLINE_CHARS:
        return await asyncio.to_thread(parse, content, fmt, ctx, finish_reason)
    return parse(content, fmt, ctx, finish_reason)


def verdict_text(verdict: Verdict) -> str:
    """``safe``, ``violence,illegal`` or ``failure: reason``: for messages and the CLI."""
    if verdict.categories is None:
        return f"failure: {verdict.reason}"
    return ",".join(sorted(verdict.categories)) or "safe"
