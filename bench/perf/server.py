"""Start the simulated server in a separate process (so it does not share the client's core)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path


@contextlib.contextmanager
def sim_process(datasets: Sequence[Path], extra: Sequence[str] = ()) -> Iterator[str]:
    """Run ``bench sim --port 0 --time-scale 0`` and yield its ``/v1`` URL."""
    cmd = [
        sys.executable,
        "-m",
        "policybench.bench.cli",
        "sim",
        "--port",
        "0",
        "--time-scale",
        "0",
        "--error-rate",
        "0",
    ]
    for d in datasets:
        cmd += ["--dataset", str(d)]
    cmd += list(extra)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            m = re.search(r"(http://[\d.]+:\d+/v1)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            raise RuntimeError("the simulated server did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
