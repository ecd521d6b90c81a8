"""Property tests: no input makes a parser raise, and a wrapped label is read correctly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from policybench.service.parsers import FORMATS, ParseContext, Verdict, parse

from .strategies import SIX, answers, contexts, finish_reasons, formats, wrappers


@settings(max_examples=400, deadline=None)
@given(content=st.none() | answers, fmt=formats, ctx=contexts(), finish=finish_reasons)
def test_parse_never_raises_and_always_gives_a_verdict_or_a_reason(
    content: str | None, fmt: str, ctx: ParseContext, finish: str | None
) -> None:
    verdict = parse(content, fmt, ctx, finish)
    assert isinstance(verdict, Verdict)
    if verdict.categories is None:
        assert verdict.reason  # a failure always says why
    else:
        assert verdict.reason is None
        assert finish != "length"  # a cut-off answer is never a verdict
        allowed = {*ctx.categories, "unmapped"}
        assert verdict.categories <= allowed
        if ctx.target is not None:
            assert verdict.categories <= {ctx.target}


@settings(max_examples=200, deadline=None)
@given(content=answers, ctx=contexts())
def test_each_registered_parser_called_directly_never_raises(
    content: str, ctx: ParseContext
) -> None:
    # parse() guards parsers with a catch-all; the parsers themselves must not need it.
    for fmt, parser in FORMATS.items():
        if not content.strip():
            continue
        result = parser(content, ctx)
        assert isinstance(result, Verdict), fmt


LABELS = {
    "violation_safe": ("VIOLATION", "SAFE"),
    "valid_invalid": ("INVALID", "VALID"),
    "binary": ("1", "0"),
    "yes_no": ("Yes", "No"),
}


@settings(max_examples=300, deadline=None)
@given(
    fmt=st.sampled_from(sorted(LABELS)),
    violated=st.booleans(),
    wrapper=wrappers,
    target=st.sampled_from(SIX),
)
def test_a_wrapped_label_is_read_as_itself(
    fmt: str, violated: bool, wrapper: str, target: str
) -> None:
    label = LABELS[fmt][0 if violated else 1]
    text = wrapper.format(label)
    verdict = parse(text, fmt, ParseContext(SIX, target))
    assert verdict.categories == (frozenset({target}) if violated else frozenset()), text
