"""Resume, end to end: ``bench run`` as a subprocess, killed with SIGKILL or interrupted with
SIGINT midway, then resumed; the result must equal an uninterrupted run's.

The simulated server runs inside the ``bench run`` process (``--sim``) with a seeded error
rate, so every run sees the same answers; a small time scale keeps the killed run slow
enough to stop midway.  The test waits for the store to hold some records (a condition,
with a deadline), never for a fixed time.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from policybench.service.datasets import iter_samples
from policybench.service.store import Store

from .conftest import BALANCED

TIMING = {
    "run_id",
    "status",
    "samples_per_hour",
    "completed_per_hour",
    "server",
    "dispatch_seconds",
    "latency_seconds",
    "request_latency_seconds",
    "tokens_per_second",
    "concurrency",
    "concurrency_limit",
    "concurrency_limit_history",
}
SIM = ["--sim", "--sim-error-rate", "0.3", "--sim-seed", "7", "--dataset", str(BALANCED)]


def bench(*args: str) -> list[str]:
    # the console script's entry point, without depending on where it is installed
    code = "import sys; from policybench.bench.cli import main; sys.argv[0] = 'bench'; main()"
    return [sys.executable, "-c", code, *args]


def run_json(*args: str, check_rc: int = 0) -> dict[str, Any]:
    proc = subprocess.run(bench(*args), capture_output=True, text=True, timeout=100)
    assert proc.returncode == check_rc, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def record_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return int(con.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def wait_for_records(db: Path, proc: subprocess.Popen[str], at_least: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = record_count(db)
        if n >= at_least:
            return n
        assert proc.poll() is None, "bench run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError(f"no {at_least} records within the deadline")


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in TIMING}


def reference(tmp_path: Path) -> dict[str, Any]:
    return run_json(
        "run",
        *SIM,
        "--sim-time-scale",
        "0",
        "--store",
        str(tmp_path / "ref.sqlite"),
        "--no-progress",
        "--json",
    )


def check_records(db: Path, run_id: str) -> None:
    ids = [s.id for s in iter_samples(BALANCED)]
    with Store(db) as store:
        assert store.count_records(run_id) == len(ids)
        assert store.recorded_ids(run_id) == set(ids)
        seqs = [r["seq"] for r in store.iter_records(run_id)]
    assert seqs == list(range(len(ids)))  # one record per sample, none twice


def start_slow_run(db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bench(
            "run",
            *SIM,
            "--sim-time-scale",
            "0.05",
            "--concurrency",
            "2",
            "--store",
            str(db),
            "--no-progress",
            "--json",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def only_run_id(db: Path) -> str:
    with Store(db) as store:
        runs = store.list_runs()
    assert len(runs) == 1
    return runs[0].run_id


def test_kill_9_midway_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    expected = reference(tmp_path)
    db = tmp_path / "killed.sqlite"
    proc = start_slow_run(db)
    try:
        wait_for_records(db, proc, 10)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    run_id = only_run_id(db)
    with Store(db) as store:
        row = store.get_run(run_id)
        kept = store.count_records(run_id)
    assert row.status == "started"  # killed: never reached a final status
    assert 0 < kept < 90
    assert row.dispatch_seconds > 0  # stored with each batch, so samples/hour stays true
    shown = run_json("show", run_id, "--store", str(db), "--json")  # the summary so far
    assert shown["status"] == "started" and shown["completed"] == kept

    resumed = run_json(
        "run",
        "--resume",
        run_id,
        "--concurrency",
        "16",
        "--store",
        str(db),
        "--no-progress",
        "--json",
    )
    assert resumed["status"] == "success"
    assert resumed["run_id"] == run_id
    check_records(db, run_id)
    assert comparable(resumed) == comparable(expected)
    assert resumed["dispatch_seconds"] >= row.dispatch_seconds


def test_ctrl_c_exits_130_cancelled_with_partial_summary_and_resumes(tmp_path: Path) -> None:
    expected = reference(tmp_path)
    db = tmp_path / "interrupted.sqlite"
    proc = start_slow_run(db)
    try:
        wait_for_records(db, proc, 10)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err[-3000:]
    partial = json.loads(out)
    run_id = partial["run_id"]
    assert partial["status"] == "cancelled"
    assert "resume with `bench run --resume" in err
    with Store(db) as store:
        row = store.get_run(run_id)
        kept = store.count_records(run_id)
    assert row.status == "cancelled"
    assert 0 < partial["completed"] < 90
    assert partial["completed"] == kept  # in-flight requests finished and were flushed
    assert row.summary is not None and row.summary.completed == kept

    resumed = run_json(
        "run",
        "--resume",
        run_id,
        "--concurrency",
        "16",
        "--store",
        str(db),
        "--no-progress",
        "--json",
    )
    assert resumed["status"] == "success"
    check_records(db, run_id)
    assert comparable(resumed) == comparable(expected)


def test_runs_json_lists_runs_newest_last(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite"
    first = reference(tmp_path)
    for seed in ("1", "2"):
        run_json(
            "run",
            "--sim",
            "--sim-seed",
            seed,
            "--sim-time-scale",
            "0",
            "--dataset",
            str(BALANCED),
            "--store",
            str(db),
            "--no-progress",
            "--json",
        )
    proc = subprocess.run(
        bench("runs", "--store", str(db), "--json"), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    listed = json.loads(proc.stdout)
    assert len(listed) == 2
    assert listed[0]["created_at"] <= listed[1]["created_at"]
    for entry in listed:
        assert entry["status"] == "success"
        assert entry["completed"] == entry["samples"] == 90
        assert entry["backend"] == "simulated"
        assert set(entry["multi_policy_accuracy"]) >= {"value", "ci_low", "ci_high"}
    assert first["run_id"] not in {e["run_id"] for e in listed}
