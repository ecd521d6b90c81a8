"""Rescoring: re-parse a stored run's raw answers with today's parsers, without a request.

A parser fix never needs a re-run.  The run's plan (request keys, parse formats, parse
contexts) is rebuilt from its stored config; every stored part's ``content`` and
``finish_reason`` is parsed again and the sample judged by the same function as the
live run (:func:`~.strategies.judge`), then scored with the stored gold labels,
latencies and token counts.  With unchanged parsers the summary is the run's own,
figure for figure; with ``output_format`` it is what that format would have given.

The run's own records and summary are never touched: the new verdicts and summary are
stored beside them (``rescores`` / ``rescore_records`` in the store).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from . import __version__
from .binary import FailureRule
from .config import RunConfig
from .errors import StoreError, parse_error_label
from .parsers import Verdict, parse
from .policies import load_policy_set
from .records import RequestOutcome, gold_of, members_of
from .run_scores import verdict_finish
from .runner import git_revision
from .scores import sample_score
from .scoring import Scorer
from .store import Store
from .strategies import RequestSpec, from_config, judge
from .summary import RunSummary

BATCH = 500


@dataclass(frozen=True, slots=True)
class RescoreResult:
    rescore_id: str
    run_id: str
    output_format: str | None
    failures: FailureRule
    samples: int
    #: samples whose outcome or predicted set differs from the run's record
    changed: int
    summary: RunSummary
    previous: RunSummary | None

    @property
    def same_summary(self) -> bool:
        return self.previous == self.summary


def _config(
    row_config: dict[str, Any],
    output_format: str | None,
    run_id: str,
    failures: FailureRule | None = None,
) -> RunConfig:
    try:
        config = RunConfig.model_validate(row_config)
    except ValueError as exc:
        raise StoreError(f"run {run_id}: its stored config no longer validates: {exc}") from exc
    if output_format is not None:
        config = config.model_copy(update={"output_format": output_format})
    if failures is not None:
        config = config.model_copy(update={"failures": FailureRule(failures)})
    return config


def _part(stored: dict[str, Any], spec: RequestSpec, config: RunConfig) -> RequestOutcome:
    label = stored.get("error_kind")
    kind, status = parse_error_label(label) if label else (None, None)
    part = RequestOutcome(
        key=stored["key"],
        error=stored.get("error"),
        error_kind=kind,
        error_status=stored.get("error_status", status),
    )
    if part.error is None:
        finish = verdict_finish(config, spec, stored.get("finish_reason"))
        part.verdict = parse(stored.get("content"), spec.fmt, spec.ctx, finish)
        # logprobs are not stored: a part keeps its score while it still has a verdict
        if part.verdict.ok:
            part.score = stored.get("score")
    return part


def _record(
    record: dict[str, Any],
    verdict: Verdict,
    outcome: str,
    parts: list[RequestOutcome],
    score: float | None,
) -> bytes:
    return orjson.dumps(
        {
            "sample_id": record["sample_id"],
            "predicted": None if verdict.categories is None else sorted(verdict.categories),
            "outcome": outcome,
            "reason": verdict.reason,
            "score": score,
            "parts": [
                {
                    "key": p.key,
                    "verdict": None
                    if p.verdict is None or p.verdict.categories is None
                    else sorted(p.verdict.categories),
                    "reason": None if p.verdict is None else p.verdict.reason,
                }
                for p in parts
            ],
            **members_of(verdict),
        }
    )


def rescore(
    store: Store,
    run_id: str,
    output_format: str | None = None,
    failures: FailureRule | None = None,
    threshold: float | None = None,
) -> RescoreResult:
    """Re-parse run ``run_id``; store and return the new verdicts' summary.

    ``threshold`` moves the scores' operating point (``--threshold``); the stored scores
    are reused as they are (a part that no longer parses loses its score).

    ``failures`` scores binary P/R/F1 under another failure rule (default: the run's own).

    Raises :class:`StoreError` for an unknown run or records that do not fit the plan,
    and :class:`InputError` for a bad format or a policy set that cannot be loaded.
    """
    row = store.get_run(run_id)
    config = _config(row.config, output_format, row.run_id, failures)
    if threshold is not None:
        config = config.model_copy(update={"threshold": threshold})
    policies = load_policy_set(config.policies)
    strategy = from_config(config, policies)
    specs = {spec.key: spec for spec in strategy.plan()}
    keys = list(specs)
    scorer = Scorer(policies.categories, config.failures, slice_by=config.by)
    scorer.scores.threshold = config.threshold
    scorer.scores.enabled = config.scores != "none"
    rescore_id = f"{row.run_id}.rescore-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    batch: list[tuple[str, int, str, bytes]] = []
    samples = changed = 0
    for record in store.iter_records(row.run_id):
        stored_parts = record.get("parts") or []
        stored_keys = [p.get("key") for p in stored_parts]
        if stored_keys != keys:
            raise StoreError(
                f"run {row.run_id}: sample {record['sample_id']} has parts {stored_keys}, "
                f"but its config plans {keys}: the policy set or strategy changed"
            )
        parts = [_part(p, specs[p["key"]], config) for p in stored_parts]
        gold = gold_of(record)
        verdict, outcome = judge(strategy, parts, gold)
        score = (
            None
            if config.scores == "none" or outcome == "error"
            else sample_score(config.strategy, [p.score for p in parts])
        )
        scorer.add_score(gold, score)
        predicted = None if verdict.categories is None else sorted(verdict.categories)
        samples += 1
        changed += predicted != record.get("predicted") or outcome != record["outcome"]
        scorer.add(
            gold,
            verdict.categories,
            outcome,
            record.get("source", ""),
            record.get("latency"),
            [p["latency"] for p in stored_parts if p.get("latency") is not None],
            record.get("prompt_tokens") or 0,
            record.get("completion_tokens") or 0,
            record.get("meta"),
            usage_reported=sum(p.get("prompt_tokens") is not None for p in stored_parts),
        )
        for part in stored_parts:
            for waited in part.get("timeouts") or ():
                scorer.add_timeout(waited)
        batch.append(
            (
                record["sample_id"],
                record["seq"],
                outcome,
                _record(record, verdict, outcome, parts, score),
            )
        )
        if len(batch) >= BATCH:
            store.insert_rescore_records(rescore_id, batch)
            batch = []
    store.insert_rescore_records(rescore_id, batch)
    base = (
        row.summary.to_json()
        if row.summary is not None
        else {"run_id": row.run_id, "status": row.status, "samples": row.samples_total}
    )
    summary = RunSummary.load({**base, **scorer.summary(row.dispatch_seconds)})
    store.finish_rescore(
        rescore_id=rescore_id,
        run_id=row.run_id,
        output_format=output_format,
        version=__version__,
        git_rev=git_revision(),
        changed=changed,
        summary=summary,
    )
    return RescoreResult(
        rescore_id,
        row.run_id,
        output_format,
        config.failures,
        samples,
        changed,
        summary,
        row.summary,
    )


__all__ = ["RescoreResult", "rescore"]
