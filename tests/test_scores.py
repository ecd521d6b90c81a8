"""Reading P(unsafe) from the verdict token's logprobs, and from a verbalised confidence."""

from __future__ import annotations

import math

import pytest
from policybench.service.client import chat_logprobs, completion_logprobs
from policybench.service.client_types import TokenLogprobs
from policybench.service.scores import RULES, from_confidence, from_logprobs, sample_score


def tok(token: str, **top: float) -> TokenLogprobs:
    return TokenLogprobs(
        token,
        math.log(max(top.values())) if top else 0.0,
        tuple((t, math.log(p)) for t, p in top.items()),
    )


def test_first_token_normalised_over_the_two_readings() -> None:
    # unsafe 0.6, safe 0.2, another token 0.2: P = 0.6 / 0.8, the other mass left out
    tokens = [
        tok("\n\n"),
        TokenLogprobs(
            "unsafe",
            math.log(0.6),
            (("unsafe", math.log(0.6)), ("safe", math.log(0.2)), ("The", math.log(0.2))),
        ),
        tok("\n"),
    ]
    assert from_logprobs(tokens, RULES["llama_guard3"]).value == pytest.approx(0.75)


def test_word_prefix_token_counts_for_its_class_only() -> None:
    # "un" starts "unsafe" only; "s" starts "safe" only
    t = [TokenLogprobs("un", math.log(0.3), (("un", math.log(0.3)), ("s", math.log(0.6))))]
    assert from_logprobs(t, RULES["llama_guard3"]).value == pytest.approx(1 / 3)


def test_verdict_after_a_label_wildguard_style() -> None:
    # "Harmful request: yes": the token after the label, with a leading space
    tokens = [
        tok("Harmful"),
        tok(" request"),
        tok(":"),
        TokenLogprobs(" yes", math.log(0.9), ((" yes", math.log(0.9)), (" no", math.log(0.1)))),
        tok("\n"),
        tok("Response"),
        tok(" refusal"),
        tok(":"),
        TokenLogprobs(" no", math.log(0.99), ((" no", math.log(0.99)), (" yes", math.log(0.01)))),
    ]
    assert from_logprobs(tokens, RULES["wildguard"]).value == pytest.approx(0.9)


def test_no_verdict_token_is_no_score_not_one_half() -> None:
    assert from_logprobs(None, RULES["shieldgemma"]).value is None
    got = from_logprobs([tok("Maybe", Maybe=0.9, Perhaps=0.1)], RULES["shieldgemma"])
    assert got.value is None and "neither verdict" in (got.reason or "")
    assert from_logprobs([tok("Safety")], RULES["qwen3guard"]).value is None


def test_a_class_missing_from_the_top_tokens_contributes_nothing() -> None:
    t = [TokenLogprobs("Yes", math.log(0.97), (("Yes", math.log(0.97)), ("yes", math.log(0.02))))]
    assert from_logprobs(t, RULES["granite_guardian"]).value == 1.0


def test_decoding_vllm_chat_and_completion_logprob_shapes() -> None:
    chat = chat_logprobs(
        {
            "content": [
                {
                    "token": "No",
                    "logprob": -0.1,
                    "bytes": [78, 111],
                    "top_logprobs": [
                        {"token": "No", "logprob": -0.1},
                        {"token": "Yes", "logprob": -2.4},
                    ],
                }
            ]
        }
    )
    assert chat is not None
    p = from_logprobs(chat, RULES["shieldgemma"]).value
    assert p == pytest.approx(math.exp(-2.4) / (math.exp(-2.4) + math.exp(-0.1)))
    text = completion_logprobs(
        {
            "tokens": ["1"],
            "token_logprobs": [-0.2],
            "top_logprobs": [{"1": -0.2, "0": -1.7}],
            "text_offset": [0],
        }
    )
    assert text is not None
    assert from_logprobs(text, RULES["binary"]).value == pytest.approx(
        math.exp(-0.2) / (math.exp(-0.2) + math.exp(-1.7))
    )
    assert chat_logprobs(None) is None and chat_logprobs({"content": [{"x": 1}]}) is None


def test_verbalised_confidence_is_in_the_verdict_s_direction() -> None:
    assert from_confidence('{"violation": 1, "confidence": 0.8}', True).value == 0.8
    assert from_confidence('{"violation": 0, "confidence": 0.8}', False).value == pytest.approx(0.2)
    assert from_confidence('Answer: {"violation": 1, "confidence": "85"}', True).value == 0.85
    assert from_confidence('{"violation": 1, "confidence": "high"}', True).value is None
    assert from_confidence('{"violation": 1, "confidence": 3000}', True).value is None
    assert from_confidence('{"violation": 1}', True).value is None


def test_sample_score_gauntlet_max_ensemble_mean_and_holes() -> None:
    assert sample_score("gauntlet", [0.1, 0.7, 0.2]) == 0.7
    assert sample_score("ensemble", [0.2, 0.4]) == pytest.approx(0.3)
    assert sample_score("gauntlet", [0.9, None]) is None
