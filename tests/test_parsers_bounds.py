"""Bounded, linear parsing: what a parser reads of a long answer, and that the inputs
which made earlier parsers quadratic give the same verdicts as short ones.  (Speed itself
is measured by ``bench perf parse``, never asserted here.)"""

from __future__ import annotations

import pytest
from policybench.bench.perf.parse import SHAPES
from policybench.service.parsers import FORMATS, HEAD_CHARS, TAIL_CHARS, ParseContext, parse
from policybench.service.parsers.window import head, lines, tail

from .strategies import SIX

MULTI = ParseContext(SIX)
ONE = ParseContext(SIX, "violence")
V = frozenset({"violence"})

# (format, context, answer given after a long reasoning)
AT_THE_END = [
    ("json", MULTI, '{"violations": ["violence"]}'),
    ("binary", ONE, "1"),
    ("violation_safe", ONE, "Verdict: VIOLATION"),
    ("valid_invalid", ONE, "Classification: **INVALID** (DE3)"),
    ("wildguard", ONE, "Harmful request: yes\nResponse refusal: N/A\nHarmful response: N/A"),
    ("guardreasoner", ONE, "Answers: \nRequest: harmful\nCompletion: refusal\nResponse: unharmful"),
    ("yes_no", ONE, "Yes"),
    ("granite_guardian", ONE, "<score> yes </score>"),
    ("qwen3guard", MULTI, "Safety: Unsafe\nCategories: Violent"),
    ("policy_report", MULTI, "**Violated Policies:** [violence]"),
]

PADDING = {
    "newlines": "\n" * 1_000_000,
    "spaces": " " * 1_000_000,
    "underscores": "_" * 1_000_000 + "\n",
    "prose": "The request asks about chemistry in general terms.\n" * 20_000,
    "open braces": "{" * 1_000_000 + "\n",
}


@pytest.mark.parametrize("padding", sorted(PADDING))
@pytest.mark.parametrize(("fmt", "ctx", "answer"), AT_THE_END)
def test_a_verdict_after_a_megabyte_of_reasoning_is_read(
    fmt: str, ctx: ParseContext, answer: str, padding: str
) -> None:
    assert parse(answer, fmt, ctx).categories == V
    verdict = parse(PADDING[padding] + "\n" + answer, fmt, ctx)
    assert verdict.categories == V, verdict.reason


@pytest.mark.parametrize("padding", sorted(PADDING))
def test_llama_guard_reads_the_head_of_a_long_answer(padding: str) -> None:
    verdict = parse("unsafe\nS1\n" + PADDING[padding], "llama_guard3", MULTI)
    assert verdict.categories == V, verdict.reason


def test_text_before_the_window_is_not_read_and_a_failure_says_so() -> None:
    # A verdict more than TAIL_CHARS before the end is outside what is examined.
    answer = "Verdict: VIOLATION\n" + "The content describes a protest.\n" * (TAIL_CHARS // 16)
    verdict = parse(answer, "violation_safe", ONE)
    assert verdict.categories is None
    assert f"last {TAIL_CHARS:,}" in (verdict.reason or "")
    assert f"an answer of {len(answer):,} characters" in (verdict.reason or "")


def test_a_short_failure_has_no_truncation_note() -> None:
    verdict = parse("It is hard to say.", "violation_safe", ONE)
    assert verdict.reason is not None and "characters" not in verdict.reason


def test_the_window_starts_at_a_line_and_keeps_the_end() -> None:
    text = "x" * 10 + "\n" + "a" * (TAIL_CHARS - 5) + "\nend"
    window = tail(text)
    assert window.endswith("\nend") and len(window) <= TAIL_CHARS
    assert window.startswith("a")  # cut at the line start, not inside the first line
    assert tail("short") == "short"
    assert head("y" * (HEAD_CHARS * 2)) == ""  # a first line cut off is not read
    assert head("y\n" * HEAD_CHARS) == "y\n" * (HEAD_CHARS // 2)
    assert lines("  a \n\n\n b\r\n") == ["a", "b"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_adversarial_shape_gives_a_verdict_or_a_reason_in_every_format(shape: str) -> None:
    text = SHAPES[shape](200_000)
    for fmt in FORMATS:
        verdict = parse(text, fmt, MULTI)
        assert verdict.ok or verdict.reason, (shape, fmt)
        assert verdict.categories != frozenset() or shape == "reasoning then verdict", (shape, fmt)


async def test_parse_off_loop_gives_parses_verdicts_for_short_and_long_answers() -> None:
    from policybench.service.parsers import INLINE_CHARS, parse_off_loop

    short = "Verdict: VIOLATION"
    long = "\n" * (INLINE_CHARS * 4) + short
    junk = "\n" * (INLINE_CHARS * 4) + "x"
    for text in (short, long, junk, None):
        expected = parse(text, "violation_safe", ONE, "stop")
        assert await parse_off_loop(text, "violation_safe", ONE, "stop") == expected
    assert (await parse_off_loop(long, "violation_safe", ONE)).categories == V
    assert (await parse_off_loop(junk, "violation_safe", ONE)).categories is None


@pytest.mark.parametrize(
    ("fmt", "label", "expected"),
    [
        ("violation_safe", "SAFE", frozenset()),
        ("valid_invalid", "INVALID", V),
        ("yes_no", "Yes", V),
        ("binary", "1", V),
        ("llama_guard3", "unsafe\nS1", V),
    ],
)
def test_a_label_followed_or_preceded_by_a_megabyte_of_whitespace_is_that_label(
    fmt: str, label: str, expected: frozenset[str]
) -> None:
    ctx = MULTI if fmt.startswith("llama") else ONE
    for text in (label + " " * 1_000_000, "\n" * 1_000_000 + label, label + "\n" * 20_000):
        assert parse(text, fmt, ctx).categories == expected
    # ... and a word after the spaces makes it no answer at all
    if fmt != "llama_guard3":
        assert parse(label + " " * 20_000 + "x", fmt, ctx).categories is None
