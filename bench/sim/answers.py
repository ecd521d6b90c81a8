"""One simulated answer: the verdict (right or wrong at a seeded rate), its surface style,
the reasoning before it, its length in tokens and how it ends.

Every random choice is a seeded draw keyed by the question (the user text and the
categories asked about), so the same request gets the same answer in every run: a
resumed run and an uninterrupted one score the same.  Refusals, empty answers and
answers cut off by the token limit happen at configured rates; an answer whose reasoning
does not fit ``max_tokens`` is cut off too, as gpt-oss on vLLM does (``content: null``,
``finish_reason: "length"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from .knowledge import Knowledge, Truth
from .logprobs import confidence, with_confidence
from .prompt_reading import Question
from .styles import STYLES, choose_style

REFUSAL = "I'm sorry, but I can't help with that."
NO_POLICY = "I can classify content if you tell me which policy to apply."
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class AnswerRates:
    """How often the simulated model is wrong or misbehaves (each 0-1)."""

    error_rate: float = 0.0
    refusal_rate: float = 0.0
    empty_rate: float = 0.0
    truncate_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    content: str | None
    reasoning: str | None
    completion_tokens: int
    finish_reason: str
    style: str
    #: The verdict agrees with the gold labels (what the logprobs' confidence follows).
    correct: bool = True
    #: Seeded uniform draw behind this answer's logprobs / verbalised confidence.
    draw: float = 0.5


def tokens(text: str) -> int:
    """The simulator's tokenizer: four characters a token."""
    return max(1, len(text) // 4)


def decide(
    question: Question, truth: Truth | None, knowledge: Knowledge, user: str, error_rate: float
) -> frozenset[str]:
    """The violated set the model answers with: gold, flipped at ``error_rate``."""
    gold = truth.labels if truth is not None else frozenset()
    cats = question.categories
    key = ",".join(cats)
    if question.kind == "binary":  # a guard model that lists no policies: one question
        unsafe = bool(truth and (truth.unsafe or truth.labels))
        if knowledge.draw(user, "binary-native") < error_rate:
            unsafe = not unsafe
        return frozenset(("unsafe",)) if unsafe else frozenset()
    if question.kind == "single":
        cat = cats[0]
        unsafe = cat in gold if truth is None or truth.labels else truth.unsafe
        if knowledge.draw(user, cat) < error_rate:
            unsafe = not unsafe
        return frozenset((cat,)) if unsafe else frozenset()
    predicted = {c for c in cats if c in gold}
    if truth is not None and truth.unsafe and not truth.labels and cats:
        # binary-only gold ("harmful", no category): flag one category, chosen by the text
        predicted = {cats[int(knowledge.draw(user, "binary", key) * len(cats))]}
    if cats and knowledge.draw(user, "multi", key) < error_rate:
        predicted ^= {cats[int(knowledge.draw(user, "which", key) * len(cats))]}
    return frozenset(predicted)


def reasoning_text(question: Question, n_tokens: int) -> str:
    # A decoy: the reasoning quotes a verdict that is often not the answer, so a client
    # that reads the verdict from the reasoning field (the seed's first bug) scores badly.
    decoy = '{"violations": ["hate_speech"]}' if question.kind == "multi" else '{"violation": 1}'
    head = f"Draft answer: {decoy}. "
    filler = "Considering the policy definitions and the content. "
    need = max(0, n_tokens * 4 - len(head) - 24)
    body = (filler * (need // len(filler) + 1))[:need]
    return f"{head}{body} Final decision follows."


def compose(
    *,
    question: Question,
    truth: Truth | None,
    knowledge: Knowledge,
    user: str,
    model: str,
    style: str,
    rates: AnswerRates,
    reasoning_median: int,
    reasoning_sigma: float,
    max_tokens: int | None,
    independent: bool = False,
    separation: float = 2.0,
) -> Answer:
    key = ",".join(question.categories)
    name = choose_style(style, model, question)
    correct, draw = True, knowledge.draw(user, key, "logprob")
    if question.kind == "unknown":
        content = NO_POLICY
    else:
        # with independent models, the model's name is part of what the error draw hashes
        asked = f"{model}\x1e{user}" if independent else user
        violated = decide(question, truth, knowledge, asked, rates.error_rate)
        correct = violated == decide(question, truth, knowledge, asked, 0.0)
        content = STYLES[name](question, violated, knowledge.draw(user, key, "style"))
        if question.confidence:
            content = with_confidence(content, confidence(draw, correct, separation))
    n_reason = 0
    if reasoning_median > 0:
        u = min(max(knowledge.draw(user, key, "length"), 1e-6), 1 - 1e-6)
        n_reason = max(1, round(reasoning_median * math.exp(reasoning_sigma * _NORMAL.inv_cdf(u))))
    finish = "stop"
    quirk = knowledge.draw(user, key, "quirk")
    cut = rates.refusal_rate + rates.empty_rate
    if quirk < rates.refusal_rate:
        content, n_reason = REFUSAL, n_reason // 4
    elif quirk < cut:
        content = ""
    elif quirk < cut + rates.truncate_rate:
        # cut off by the token limit: in the reasoning if there is one, else mid-answer
        if n_reason:
            return Answer(
                None, reasoning_text(question, n_reason), n_reason, "length", name, correct, draw
            )
        content = content[: max(1, len(content) // 2)]
        return Answer(content, None, tokens(content), "length", name, correct, draw)
    answer_tokens = tokens(content) if content else 1
    if max_tokens is not None and n_reason + answer_tokens > max_tokens:
        if n_reason >= max_tokens:
            return Answer(
                None,
                reasoning_text(question, max_tokens),
                max_tokens,
                "length",
                name,
                correct,
                draw,
            )
        content = content[: (max_tokens - n_reason) * 4]
        answer_tokens, finish = max_tokens - n_reason, "length"
    reasoning = reasoning_text(question, n_reason) if n_reason else None
    return Answer(content, reasoning, n_reason + answer_tokens, finish, name, correct, draw)
