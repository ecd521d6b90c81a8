"""How a run asks for scores and reads them: the request settings, and one part's score.

With ``--scores logprobs`` every request asks for ``logprobs`` (``top_logprobs``
alternatives per token).  When every request's verdict is its first token and is all the
run needs of the answer (a one-policy question, or a format with nothing after the
verdict), ``max_tokens`` drops to the few tokens the verdict takes: such an answer ends
by the token limit by design, so its ``finish_reason: "length"`` is not a cut-off for
the parser.  With ``--scores confidence`` the score is the verbalised ``confidence`` of
the answer (see :mod:`.scores`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .client import ClientSettings
from .client_types import Completion
from .config import RunConfig
from .parsers import Verdict
from .scores import capped_max_tokens, from_confidence, from_logprobs
from .strategies import RequestSpec


def score_max_tokens(config: RunConfig, specs: Sequence[RequestSpec]) -> int | None:
    """The reduced ``max_tokens`` for a logprob-scored run, or ``None`` to keep the run's."""
    if config.scores != "logprobs":
        return None
    rules = [s.rule for s in specs]
    whole = [s.ctx.target is not None or bool(s.rule and s.rule.complete) for s in specs]
    cap = capped_max_tokens(rules, whole)
    if cap is None or (config.max_tokens is not None and config.max_tokens <= cap):
        return None
    return cap


def score_settings(
    settings: ClientSettings, config: RunConfig, specs: Sequence[RequestSpec]
) -> ClientSettings:
    cap = score_max_tokens(config, specs)
    return settings if cap is None else dataclasses.replace(settings, max_tokens=cap)


def verdict_finish(config: RunConfig, spec: RequestSpec, finish_reason: str | None) -> str | None:
    """The finish reason the parser sees: a verdict-first answer cut after its verdict
    by a scored run's token cap is complete for the verdict."""
    rule = spec.rule
    if (
        finish_reason == "length"
        and config.scores == "logprobs"
        and rule is not None
        and rule.verdict_tokens is not None
    ):
        return None
    return finish_reason


def part_score(
    config: RunConfig,
    spec: RequestSpec,
    completion: Completion,
    verdict: Verdict,
    response: bool = False,
) -> tuple[float | None, str | None]:
    """``(score, reason)`` of one answered request; no score for a failed parse.
    ``response``: the sample's judged turn is an assistant response."""
    if config.scores == "none":
        return None, None
    if verdict.categories is None:
        return None, "no verdict"
    if config.scores == "confidence":
        got = from_confidence(completion.content, bool(verdict.categories))
    else:
        rule = spec.rule
        if rule is None:
            return None, f"format {spec.fmt!r} has no verdict token to read"
        got = from_logprobs(completion.logprobs, rule, response)
    return got.value, got.reason
