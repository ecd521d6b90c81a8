"""The fail-closed property: an answer without a verdict word is never read as safe.

A seeded generator covers 100,000 answers (the same ones on every run) and a
derandomised Hypothesis test explores more combinations of the same pieces
(``tests/fuzz_answers.py``): negations, option lists, quoted examples, definitions,
reasoning scaffolding and positive labels, joined by separators.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from policybench.service.parsers import FORMATS, ParseContext, parse
from policybench.service.tasks import Task

from .fuzz_answers import SEPARATORS, generate, pieces_for
from .strategies import SIX

FORMAT_NAMES = sorted(FORMATS)
CONTEXTS = (
    ParseContext(SIX),
    ParseContext(SIX, "violence"),
    ParseContext(SIX, task=Task.RESPONSE),
    ParseContext(SIX, "violence", Task.REFUSAL),
)
GENERATED = 100_000


def test_no_generated_answer_without_a_verdict_word_is_read_as_safe() -> None:
    outcomes: Counter[str] = Counter()
    safe: list[tuple[str, str]] = []
    for i, (fmt, text) in enumerate(generate(seed=14, count=GENERATED, formats=FORMAT_NAMES)):
        verdict = parse(text, fmt, CONTEXTS[i % len(CONTEXTS)])
        if verdict.categories is None:
            outcomes["failure"] += 1
        elif verdict.categories:
            outcomes["violation"] += 1
        else:
            safe.append((fmt, text))
    assert not safe, safe[:5]
    assert sum(outcomes.values()) == GENERATED
    # The generator reaches both outcomes that are allowed: it is not trivially failing.
    assert outcomes["failure"] > GENERATED // 2 and outcomes["violation"] > GENERATED // 200


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, str, ParseContext]:
    fmt = draw(st.sampled_from(FORMAT_NAMES))
    pieces = st.sampled_from(pieces_for(fmt))
    first = draw(pieces)
    rest = draw(st.lists(st.tuples(st.sampled_from(SEPARATORS), pieces), max_size=8))
    text = first + "".join(sep + piece for sep, piece in rest)
    return fmt, text, draw(st.sampled_from(CONTEXTS))


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(case=answers())
def test_hypothesis_finds_no_answer_without_a_verdict_word_read_as_safe(
    case: tuple[str, str, ParseContext],
) -> None:
    fmt, text, ctx = case
    verdict = parse(text, fmt, ctx)
    assert verdict.categories != frozenset(), (fmt, text)
