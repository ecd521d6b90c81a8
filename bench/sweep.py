"""``bench sweep``: the server's throughput/latency curve over concurrency, and its knee.

Each step is a short run at a fixed concurrency (recorded in a scratch store unless one is
given).  The knee is the first step after which doubling the requests in flight adds less
than ``knee_gain`` throughput: past it, requests only queue.
"""

from __future__ import annotations

import csv
import dataclasses
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from policybench.service.config import RunConfig
from policybench.service.runner import Prepared, Run
from policybench.service.store import Store


@dataclass(frozen=True, slots=True)
class Step:
    concurrency: int
    samples: int
    samples_per_s: float
    requests_per_s: float
    p50: float | None
    p90: float | None
    p99: float | None


def find_knee(steps: list[Step], knee_gain: float = 0.10) -> int | None:
    """Index of the knee step: the last one that still paid off."""
    for i in range(1, len(steps)):
        if steps[i].samples_per_s < steps[i - 1].samples_per_s * (1 + knee_gain):
            return i - 1
    return None


async def sweep(
    prepared: Prepared,
    levels: list[int] | None,
    *,
    store_path: str | None,
    doubling_max: int = 1024,
    knee_gain: float = 0.10,
) -> tuple[list[Step], int | None]:
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(store_path or Path(tmp) / "sweep.sqlite")
        try:
            todo = list(levels) if levels else [1]
            while todo:
                c = todo.pop(0)
                cfg: RunConfig = prepared.config.model_copy(update={"concurrency": c})
                result = await Run(
                    dataclasses.replace(prepared, config=cfg),
                    store,
                ).execute()
                s = result.summary
                secs = s.dispatch_seconds or 1e-9
                lat = s.request_latency_seconds
                steps.append(
                    Step(
                        c,
                        s.completed,
                        s.completed / secs,
                        s.requests / secs,
                        lat.p50,
                        lat.p90,
                        lat.p99,
                    )
                )
                # without fixed levels: keep doubling until throughput stops rising
                if not levels and find_knee(steps, knee_gain) is None and c * 2 <= doubling_max:
                    todo.append(c * 2)
        finally:
            store.close()
    return steps, find_knee(steps, knee_gain)


def write_csv(steps: list[Step], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "concurrency",
                "samples",
                "samples_per_s",
                "samples_per_hour",
                "requests_per_s",
                "latency_p50_s",
                "latency_p90_s",
                "latency_p99_s",
            ]
        )
        for s in steps:
            w.writerow(
                [
                    s.concurrency,
                    s.samples,
                    f"{s.samples_per_s:.3f}",
                    f"{s.samples_per_s * 3600:.0f}",
                    f"{s.requests_per_s:.3f}",
                    s.p50,
                    s.p90,
                    s.p99,
                ]
            )


def write_png(steps: list[Step], knee: int | None, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = [s.concurrency for s in steps]
    ax.plot(xs, [s.samples_per_s * 3600 for s in steps], marker="o", label="samples/hour")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrency (requests in flight)")
    ax.set_ylabel("samples/hour")
    ax2 = ax.twinx()
    ax2.plot(
        xs,
        [s.p50 or 0 for s in steps],
        color="tab:red",
        linestyle="--",
        marker=".",
        label="p50 latency",
    )
    ax2.set_ylabel("request latency p50 (s)")
    if knee is not None:
        ax.axvline(steps[knee].concurrency, color="grey", linestyle=":", label="knee")
    fig.legend(loc="lower right", bbox_to_anchor=(0.85, 0.2))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def steps_as_dicts(steps: list[Step], knee: int | None) -> dict[str, Any]:
    return {
        "steps": [asdict(s) for s in steps],
        "knee_concurrency": None if knee is None else steps[knee].concurrency,
    }
