"""The commands around ``bench run`` against real vLLM: sweep, offline batches through
vLLM's own ``run_batch``, matrix, the batch service, and Ctrl-C with resume.

The model always answers ``{"violations": []}``: exactly the safe samples are right, and
vLLM's counters say how many requests each command sent.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from .realvllm import BENCH, SAFE_JSON, VllmPool, bench
from .test_real_vllm import assert_safe_answers_scored, head

pytestmark = pytest.mark.vllm

N = 12


def json_out(out: subprocess.CompletedProcess[str]) -> Any:
    assert out.returncode == 0, out.stderr[-3000:]
    return orjson.loads(out.stdout.strip().splitlines()[-1])


def test_sweep_runs_each_level_against_the_server(vllm: VllmPool, tmp_path: Path) -> None:
    server = vllm.server(SAFE_JSON)
    before = server.metrics()
    result = json_out(
        bench(
            *("sweep", "--dataset", "balanced", "--base-url", server.base_url),
            *("--model", server.model, "--max-tokens", "64", "--levels", "1,4"),
            *("--samples", str(N), "--out-dir", str(tmp_path), "--json"),
        )
    )
    after = server.metrics()
    assert [s["concurrency"] for s in result["steps"]] == [1, 4]
    assert all(s["samples"] == N for s in result["steps"])
    assert after.delta(before, "vllm:request_success_total") == 2 * N
    assert (tmp_path / "sweep.csv").is_file()


def test_export_batch_through_vllms_run_batch_and_back(vllm: VllmPool, tmp_path: Path) -> None:
    name = "tiny-offline"
    requests, results = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    common = ("--dataset", "balanced", "--limit", str(N), "--model", name, "--max-tokens", "64")
    out = bench("export-batch", *common, "--output", str(requests))
    assert out.returncode == 0, out.stderr
    assert len(requests.read_bytes().splitlines()) == N
    vllm.run_batch(SAFE_JSON, name, requests, results)
    lines = [orjson.loads(line) for line in results.read_bytes().splitlines()]
    assert len(lines) == N and all(line["response"]["status_code"] == 200 for line in lines)
    s = json_out(
        bench(
            "import-batch",
            str(results),
            *common,
            *("--store", str(tmp_path / "runs.sqlite"), "--json"),
        )
    )
    assert_safe_answers_scored(s, N)
    usage = [line["response"]["body"]["usage"] for line in lines]
    assert s["tokens"]["completion"] == N * vllm.answer_tokens(SAFE_JSON)
    assert s["tokens"]["completion"] == sum(u["completion_tokens"] for u in usage)
    assert s["tokens"]["prompt"] == sum(u["prompt_tokens"] for u in usage)


def test_matrix_runs_every_cell_then_sends_nothing_on_a_second_pass(
    vllm: VllmPool, tmp_path: Path
) -> None:
    server = vllm.server(SAFE_JSON)
    matrix = tmp_path / "m.toml"
    matrix.write_text(
        f"""
[matrix]
name = "real-vllm"
models = ["{server.model}"]
policies = ["minimal", "medium"]
strategies = ["multi"]
datasets = ["balanced"]

[settings]
base_url = "{server.base_url}"
concurrency = 8
max_tokens = 64
limit = {N}
"""
    )
    store = str(tmp_path / "runs.sqlite")
    before = server.metrics()
    first = json_out(bench("matrix", str(matrix), "--no-progress", "--json", "--store", store))
    middle = server.metrics()
    second = json_out(bench("matrix", str(matrix), "--no-progress", "--json", "--store", store))
    after = server.metrics()
    assert middle.delta(before, "vllm:request_success_total") == 2 * N
    assert after.delta(middle, "vllm:request_success_total") == 0  # nothing sent again
    assert [c["action"] for c in first["cells"]] == ["new", "new"]
    assert [c["action"] for c in second["cells"]] == ["skipped", "skipped"]
    safe = sum(1 for r in head(N) if not r["labels"])
    for cell in first["cells"]:
        assert cell["status"] == "success"
        assert cell["multi_policy_accuracy"]["successes"] == safe


def test_service_runs_a_submitted_job_against_the_server(vllm: VllmPool, tmp_path: Path) -> None:
    server = vllm.server(SAFE_JSON)
    serve = subprocess.Popen(
        [*BENCH, "serve", "--port", "0", "--store", str(tmp_path / "svc.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        before = server.metrics()
        s = json_out(
            bench(
                *("submit", "--url", url, "--dataset", "balanced", "--limit", str(N)),
                *("--base-url", server.base_url, "--model", server.model),
                *("--set", "max_tokens=64", "--watch", "--json"),
            )
        )
        after = server.metrics()
    finally:
        serve.kill()
        serve.wait()
        if serve.stdout is not None:
            serve.stdout.close()
    assert_safe_answers_scored(s, N)
    assert after.delta(before, "vllm:request_success_total") == N
    assert s["tokens"]["completion"] == after.delta(before, "vllm:generation_tokens_total")


def _records(store: Path) -> int:
    try:
        with sqlite3.connect(store) as db:
            return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_ctrl_c_then_resume_scores_every_sample_once(vllm: VllmPool, tmp_path: Path) -> None:
    server = vllm.server(SAFE_JSON)
    store = tmp_path / "runs.sqlite"
    n = 90
    before = server.metrics()
    proc = subprocess.Popen(
        [
            *BENCH,
            *("run", "--dataset", "balanced", "--base-url", server.base_url),
            *("--model", server.model, "--max-tokens", "64", "--concurrency", "1"),
            *("--json", "--no-progress", "--store", str(store)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while _records(store) < 5:  # waits on the process, so an early exit fails at once
            try:
                code = proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"the run ended ({code}) before it could be interrupted")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err[-3000:]
    partial = orjson.loads(out)
    assert partial["status"] == "cancelled" and 0 < partial["completed"] < n
    resumed = json_out(
        bench(
            *("run", "--resume", partial["run_id"], "--store", str(store)),
            *("--json", "--no-progress"),
        )
    )
    after = server.metrics()
    assert resumed["run_id"] == partial["run_id"]
    assert_safe_answers_scored(resumed, n)
    assert _records(store) == n  # every sample once
    # every request the server answered was counted once, across both processes
    assert after.delta(before, "vllm:request_success_total") == n
    assert resumed["tokens"]["completion"] == after.delta(before, "vllm:generation_tokens_total")
    assert resumed["tokens"]["prompt"] == after.delta(before, "vllm:prompt_tokens_total")
