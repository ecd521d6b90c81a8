"""``bench perf memory``: peak RSS of zero-latency runs over a small and a large dataset.

Each run is a fresh subprocess (peak RSS is per process), so the two figures compare
like with like: if memory grew with the dataset, the large run's peak would show it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .datagen import write_dataset
from .server import sim_process

_CHILD = """
import resource, sys
from policybench.bench.cli import main
sys.argv = ["bench"] + sys.argv[1:]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write(f"PEAK_RSS_KIB={peak_kib}\\n")
sys.exit(code)
"""


def _one(url: str, dataset: Path, store: Path, concurrency: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            "run",
            "--dataset",
            str(dataset),
            "--base-url",
            url,
            "--model",
            "sim-guard",
            "--concurrency",
            str(concurrency),
            "--no-progress",
            "--json",
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    peak = next(
        int(line.split("=")[1])
        for line in out.stderr.splitlines()
        if line.startswith("PEAK_RSS_KIB=")
    )
    return {"peak_rss_mib": peak / 1024, "wall_seconds": wall}


def run_memory_bench(small: int, large: int, concurrency: int) -> dict[str, Any]:
    """Peak RSS of runs over ``small``, ``large // 10`` and ``large`` samples.

    The middle run separates growth with the dataset from the one-off rise to the
    process's steady working set (buffers, SQLite cache, what the allocator keeps), which a
    run of a few seconds may end before reaching.
    """
    medium = max(small, large // 10)
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        sizes = {"small": small, "medium": medium, "large": large}
        results = {}
        with sim_process([]) as url:
            for name, n in sizes.items():
                dataset = write_dataset(tmpdir / f"{name}.jsonl", n)
                results[name] = _one(url, dataset, tmpdir / f"{name}.sqlite", concurrency)
                dataset.unlink()
                (tmpdir / f"{name}.sqlite").unlink()
    out: dict[str, Any] = {}
    for name, n in sizes.items():
        out[f"{name}_samples"] = n
        out[f"{name}_peak_rss_mib"] = results[name]["peak_rss_mib"]
    out["large_to_small_rss_ratio"] = (
        results["large"]["peak_rss_mib"] / results["small"]["peak_rss_mib"]
    )
    out["large_to_medium_rss_ratio"] = (
        results["large"]["peak_rss_mib"] / results["medium"]["peak_rss_mib"]
    )
    out["large_samples_per_s"] = large / results["large"]["wall_seconds"]
    return out
