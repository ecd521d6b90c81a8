"""A rich progress bar as a run observer: samples done, samples/hour, running accuracy, ETA."""

from __future__ import annotations

import time

from policybench.service.observer import BaseObserver
from policybench.service.records import SampleResult
from policybench.service.runner import RunHandle
from policybench.service.scoring import Scorer
from policybench.service.summary import RunSummary
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressObserver(BaseObserver):
    """Renders on stderr; refreshes at most ``refresh_hz`` times a second."""

    def __init__(self, console: Console, refresh_hz: float = 8.0) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[acc]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            refresh_per_second=refresh_hz,
        )
        self._task: TaskID | None = None
        self._min_gap = 1.0 / refresh_hz
        self._last = 0.0
        self._t0 = 0.0
        self._done_here = 0
        self._start_done = 0

    def on_start(self, run: RunHandle) -> None:
        self._t0 = time.perf_counter()
        self._start_done = run.already_done
        self._progress.start()
        self._task = self._progress.add_task(
            run.run_id, total=run.total, completed=run.already_done, rate="", acc=""
        )

    def on_sample(self, result: SampleResult, scorer: Scorer) -> None:
        self._done_here += 1
        now = time.perf_counter()
        if now - self._last < self._min_gap:
            return
        self._last = now
        self._refresh(scorer, now)

    def _refresh(self, scorer: Scorer, now: float) -> None:
        assert self._task is not None
        elapsed = now - self._t0
        rate = self._done_here * 3600.0 / elapsed if elapsed > 0 else 0.0
        acc = scorer.running_multi_accuracy
        if acc is None:
            acc = scorer.running_binary_accuracy
            label = "binary acc"
        else:
            label = "multi acc"
        self._progress.update(
            self._task,
            completed=scorer.completed,
            rate=f"{rate:,.0f} samples/h",
            acc="" if acc is None else f"{label} {acc:.1%}",
        )

    def on_finish(self, run: RunHandle, summary: RunSummary) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=summary.completed)
        self._progress.stop()
