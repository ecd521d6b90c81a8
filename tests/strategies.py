"""Hypothesis strategies shared by the property tests (kept in one place, as attrs does)."""

from __future__ import annotations

from hypothesis import strategies as st
from policybench.service.parsers import FORMATS, ParseContext

SIX = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")

formats = st.sampled_from(sorted(FORMATS))
finish_reasons = st.sampled_from([None, "stop", "length", "content_filter"])


@st.composite
def contexts(draw: st.DrawFn) -> ParseContext:
    """A several-policy context, or a one-policy one (as gauntlet requests have)."""
    target = draw(st.none() | st.sampled_from(SIX))
    return ParseContext(categories=SIX, target=target)


# Pieces real answers are made of, so that random answers often look almost right.
_PIECES = st.sampled_from(
    [
        "safe",
        "unsafe",
        "S1",
        "S14",
        "O3",
        "S99",
        ",",
        "\n",
        " ",
        "**",
        "`",
        "```json",
        "```",
        "{",
        "}",
        "[",
        "]",
        '"',
        "'",
        ":",
        "VIOLATION",
        "SAFE",
        "VALID",
        "INVALID",
        "0",
        "1",
        "Yes",
        "No",
        "<score>",
        "</score>",
        "<think>",
        "</think>",
        "Answer:",
        "Answers:",
        "Request: harmful",
        "Response: unharmful",
        "Harmful request: yes",
        "Harmful response: N/A",
        "Safety: Unsafe",
        "Safety: Controversial",
        "Categories:",
        "Violent",
        "PII",
        "None",
        '"violations"',
        '"violation"',
        "hate_speech",
        "violence",
        "Classification:",
        "(DE3)",
        "I'm sorry",
        "\u00a0",
        "\x00",
        "\ud7ff",
    ]
)

#: Arbitrary text, and text assembled from answer-like pieces.
answers = st.one_of(
    st.text(max_size=300),
    st.lists(_PIECES, max_size=40).map("".join),
    st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=30).map("".join),
)

#: How models wrap a label: markdown, prefixes, trailing reasoning.
wrappers = st.sampled_from(
    [
        "{}",
        "**{}**",
        "`{}`",
        "Answer: {}",
        "Final answer: **{}**",
        "Classification: {}.",
        "{}\n\nThe content discusses the topic without breaking the policy's rules.",
        "Let me think about this carefully.\nThe policy is clear here.\n\n{}",
    ]
)
