"""What one request and one sample leave behind, and their stored (JSON) form.

A stored record carries everything scoring needs (gold labels included), so reports,
comparisons and rescoring work from the store alone, without the dataset file.  Scores
(``score``, P(unsafe), per record and per part) were added without a schema change:
records written before them read as unscored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from .datasets import Sample
from .errors import ErrorKind, error_label
from .parsers import Verdict
from .prompts import user_content
from .scoring import Gold, Outcome, Scorer, gold_for
from .tasks import Task

RECORD_SCHEMA = 1


@dataclass(slots=True)
class RequestOutcome:
    """One request of a sample, after its retries: an answer or an error."""

    key: str
    content: str | None = None
    reasoning: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency: float | None = None
    attempts: int = 0
    error: str | None = None
    error_kind: ErrorKind | None = None
    #: the HTTP status of a failed request, when it got one (429, 503...)
    error_status: int | None = None
    verdict: Verdict | None = None
    ttft: float | None = None  # time to first token, for streamed answers
    score: float | None = None  # P(unsafe), with --scores
    score_reason: str | None = None  # why there is no score, with --scores
    timeouts: list[float] = field(default_factory=list)  # seconds of attempts that timed out

    def as_dict(self) -> dict[str, Any]:
        v = self.verdict
        extra: dict[str, Any] = {"timeouts": self.timeouts} if self.timeouts else {}
        return {
            "key": self.key,
            "content": self.content,
            "reasoning": self.reasoning,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency": self.latency,
            "ttft": self.ttft,
            "attempts": self.attempts,
            "error": self.error,
            "error_kind": None
            if self.error_kind is None
            else error_label(self.error_kind, self.error_status),
            "error_status": self.error_status,
            "verdict": None if v is None or v.categories is None else sorted(v.categories),
            "reason": None if v is None else v.reason,
            "score": self.score,
            "score_reason": self.score_reason,
            **extra,
        }


@dataclass(slots=True)
class SampleResult:
    sample: Sample
    seq: int
    outcome: Outcome
    verdict: Verdict
    latency: float
    parts: list[RequestOutcome] = field(default_factory=list)
    score: float | None = None
    task: Task = Task.PROMPT

    @property
    def gold(self) -> Gold:
        """The gold of the run's task (``service/tasks.py``)."""
        return gold_for(self.sample, self.task)

    @property
    def prompt_tokens(self) -> int:
        return sum(p.prompt_tokens or 0 for p in self.parts)

    @property
    def completion_tokens(self) -> int:
        return sum(p.completion_tokens or 0 for p in self.parts)

    def to_json(self) -> bytes:
        s = self.sample
        gold = self.gold
        return orjson.dumps(
            {
                "schema": RECORD_SCHEMA,
                "sample_id": s.id,
                "seq": self.seq,
                "source": s.source,
                # the user turn exactly as sent (system turns are rebuilt from the run's
                # config and policies, see service/viewer/requests.py) and when the sample
                # finished: what the viewer shows and searches
                "input": user_content(s),
                "finished_at": time.time(),
                "gold": {
                    "labels": None if gold.labels is None else sorted(gold.labels),
                    "unsafe": gold.unsafe,
                    "unknown": sorted(gold.unknown),
                },
                **({} if self.task is Task.PROMPT else {"task": str(self.task)}),
                "predicted": None
                if self.verdict.categories is None
                else sorted(self.verdict.categories),
                "outcome": self.outcome,
                "reason": self.verdict.reason,
                "latency": self.latency,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "parts": [p.as_dict() for p in self.parts],
                "score": self.score,
                **members_of(self.verdict),
                **({"meta": dict(s.meta)} if s.meta else {}),
            }
        )


def members_of(verdict: Verdict) -> dict[str, Any]:
    """``{"members": [...]}`` for a combined (ensemble) verdict, else ``{}``."""
    if not verdict.members:
        return {}
    return {
        "members": [
            {
                "member": label,
                "predicted": None if v.categories is None else sorted(v.categories),
                "reason": v.reason,
            }
            for label, v in verdict.members
        ]
    }


def gold_of(record: dict[str, Any]) -> Gold:
    g = record["gold"]
    labels = g.get("labels")
    return Gold(
        None if labels is None else frozenset(labels),
        g.get("unsafe"),
        frozenset(g.get("unknown") or ()),
    )


def replay(record: dict[str, Any], scorer: Scorer) -> None:
    """Add a stored record to a scorer exactly as the live run did."""
    predicted = record.get("predicted")
    scorer.add(
        gold_of(record),
        None if predicted is None else frozenset(predicted),
        Outcome(record["outcome"]),
        record.get("source", ""),
        record.get("latency"),
        [p["latency"] for p in record.get("parts", ()) if p.get("latency") is not None],
        record.get("prompt_tokens") or 0,
        record.get("completion_tokens") or 0,
        record.get("meta"),
        usage_reported=sum(p.get("prompt_tokens") is not None for p in record.get("parts", ())),
    )
    for part in record.get("parts", ()):
        if part.get("ttft") is not None:
            scorer.add_ttft(part["ttft"])
        for waited in part.get("timeouts") or ():
            scorer.add_timeout(waited)
    scorer.add_score(gold_of(record), record.get("score"))
