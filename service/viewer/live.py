"""Figures of a run that has no stored summary yet (running, or killed before it wrote one).

A finished run's page shows its stored summary.  A running one is scored here, by the
same :class:`~..scoring.Scorer` the run uses, fed incrementally: each poll replays only
records not replayed before.  Records arrive out of dataset order (requests finish out
of order), so the cursor is a watermark below which every ``seq`` has been replayed,
plus the set of replayed ``seq`` s above it (a window about as wide as the run's
concurrency).  Memory stays fixed however long the run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..records import replay
from ..runsummary import run_categories
from ..scoring import Scorer
from ..store import RunRow
from .queries import Queries

_BATCH = 5000


@dataclass(slots=True)
class _Live:
    scorer: Scorer
    watermark: int = -1
    above: set[int] = field(default_factory=set)


class LiveScores:
    """Incremental scorers for the few runs being watched (least recently used dropped)."""

    def __init__(self, queries: Queries, keep: int = 8) -> None:
        self._queries = queries
        self._keep = keep
        self._runs: OrderedDict[str, _Live] = OrderedDict()
        self._lock = threading.Lock()

    def summary(self, row: RunRow) -> dict[str, Any]:
        """``row``'s figures from every record stored so far (call from a worker thread)."""
        with self._lock:
            live = self._runs.pop(row.run_id, None)
            if live is None:
                live = _Live(Scorer(run_categories(row)))
            self._runs[row.run_id] = live
            while len(self._runs) > self._keep:
                self._runs.popitem(last=False)
            self._catch_up(row.run_id, live)
            out = live.scorer.summary(row.dispatch_seconds)
        out.update(
            run_id=row.run_id,
            status=row.status,
            samples=row.samples_total,
            model=row.model,
            strategy=row.strategy,
            policies=row.policy_set,
            dataset=row.dataset,
            backend="simulated" if row.backend == "simulated" else row.config.get("base_url"),
        )
        return out

    def _catch_up(self, run_id: str, live: _Live) -> None:
        cursor = live.watermark
        while True:
            rows = self._queries.records_after(run_id, cursor, _BATCH)
            for seq, rec in rows:
                if seq not in live.above:
                    replay(orjson.loads(rec), live.scorer)
                    live.above.add(seq)
            if len(rows) < _BATCH:
                break
            cursor = rows[-1][0]
        while live.watermark + 1 in live.above:
            live.watermark += 1
            live.above.discard(live.watermark)
