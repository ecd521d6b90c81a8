"""Running a matrix: its cells one after another, skipping the ones already done.

A cell with a finished run of the same measuring config is skipped (no request sent), a
partial one is resumed, the rest run new; a cell that does not succeed stops the matrix
(running it again picks up there).  ``bench matrix`` drives it and owns the signals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .backends import SimBackend, with_server
from .matrix import Cell, MatrixSpec, find_run
from .observer import Observers
from .runner import Prepared, Run, prepare
from .store import Store


@dataclass(slots=True)
class CellOutcome:
    cell: Cell
    action: str  # skipped | resumed | new | pending
    run_id: str | None = None
    status: str | None = None


def prepare_cells(spec: MatrixSpec) -> list[tuple[Cell, Prepared]]:
    """Read every cell's dataset and policies up front; :class:`InputError` on bad input."""
    out = []
    for cell in spec.cells:
        out.append((cell, prepare(cell.config)))
    return out


class MatrixRunner:
    """Runs the cells one after another; :meth:`request_stop` stops the current one."""

    def __init__(
        self,
        store: Store,
        *,
        api_key: str | None = None,
        observer_factory: Callable[[], Any] | None = None,
        on_cell: Callable[[CellOutcome], None] | None = None,
        simulator: SimBackend | None = None,
    ) -> None:
        self.store = store
        self.api_key = api_key
        self.observer_factory = observer_factory
        self.on_cell = on_cell or (lambda _o: None)
        self.simulator = simulator
        self.stopped = False
        self._current: Run | None = None

    def request_stop(self) -> None:
        self.stopped = True
        if self._current is not None:
            self._current.request_stop("interrupted")

    def plan(self, cells: list[tuple[Cell, Prepared]]) -> list[CellOutcome]:
        plan = []
        for cell, prepared in cells:
            row = find_run(
                self.store, cell.config, prepared.dataset.fingerprint, prepared.policies.digest
            )
            if row is None:
                plan.append(CellOutcome(cell, "new"))
            elif row.status == "success":
                plan.append(CellOutcome(cell, "skipped", row.run_id, row.status))
            else:
                plan.append(CellOutcome(cell, "resumed", row.run_id, row.status))
        return plan

    async def run(self, cells: list[tuple[Cell, Prepared]]) -> list[CellOutcome]:
        plan = self.plan(cells)
        for outcome, (_cell, prepared) in zip(plan, cells, strict=True):
            if outcome.action == "skipped":
                self.on_cell(outcome)
                continue
            if self.stopped:
                outcome.action = "pending"
                continue
            observers = [self.observer_factory()] if self.observer_factory else []
            async with with_server(prepared, self.simulator) as ready:
                run = Run(
                    ready,
                    self.store,
                    api_key=self.api_key,
                    observer=Observers(observers),
                    resume=outcome.run_id if outcome.action == "resumed" else None,
                )
                self._current = run
                try:
                    result = await run.execute()
                finally:
                    self._current = None
            outcome.run_id, outcome.status = result.run_id, result.status
            self.on_cell(outcome)
            if result.status != "success":
                self.stopped = True
        return plan
