"""``bench run`` as users call it: exit codes, the --json contract, bad input, env vars."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

BENCH = [sys.executable, "-m", "policybench.bench.cli"]


def bench(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*BENCH, *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def runs_in(store: Path) -> list[dict[str, object]]:
    out = bench("runs", "--json", "--store", str(store))
    assert out.returncode == 0, out.stderr
    return orjson.loads(out.stdout)


def test_json_contract_and_run_listed(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite"
    out = bench(
        "run",
        "--dataset",
        "balanced",
        "--sim",
        "--sim-time-scale",
        "0",
        "--sim-error-rate",
        "0.2",
        "--concurrency",
        "16",
        "--json",
        "--no-progress",
        "--store",
        str(store),
    )
    assert out.returncode == 0, out.stderr
    summary = orjson.loads(out.stdout)  # stdout is exactly one JSON object
    for key in (
        "run_id",
        "status",
        "samples",
        "completed",
        "multi_policy_accuracy",
        "binary_accuracy",
        "per_category",
        "false_positive_rate",
        "false_negative_rate",
        "parse_failures",
        "errors",
        "samples_per_hour",
        "latency_seconds",
        "tokens",
        "backend",
    ):
        assert key in summary, key
    assert summary["status"] == "success" and summary["backend"] == "simulated"
    assert summary["samples"] == summary["completed"] == 90
    acc = summary["multi_policy_accuracy"]
    assert acc["ci_low"] <= acc["value"] <= acc["ci_high"]
    assert set(summary["latency_seconds"]) == {"p50", "p90", "p99"}
    assert set(summary["per_category"]["violence"]) >= {"precision", "recall", "f1", "support"}
    assert summary["tokens"]["prompt"] > 0
    assert "multi-policy accuracy" in out.stderr  # the table went to stderr
    runs = runs_in(store)
    assert [r["run_id"] for r in runs] == [summary["run_id"]]
    shown = bench("show", summary["run_id"], "--json", "--store", str(store))
    assert orjson.loads(shown.stdout)["multi_policy_accuracy"] == acc


def test_options_come_from_environment_variables(tmp_path: Path) -> None:
    store = tmp_path / "env.sqlite"
    out = bench(
        "run",
        "--json",
        "--no-progress",
        env={
            "POLICYBENCH_DATASET": "balanced",
            "POLICYBENCH_SIM": "1",
            "POLICYBENCH_SIM_TIME_SCALE": "0",
            "POLICYBENCH_STRATEGY": "gauntlet",
            "POLICYBENCH_LIMIT": "5",
            "POLICYBENCH_STORE": str(store),
        },
    )
    assert out.returncode == 0, out.stderr
    summary = orjson.loads(out.stdout)
    assert (
        summary["strategy"] == "gauntlet" and summary["samples"] == 5 and summary["requests"] == 30
    )


def _bad_input(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    store = tmp_path / "bad.sqlite"
    out = bench(
        "run", "--sim", "--sim-time-scale", "0", "--no-progress", "--store", str(store), *args
    )
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert runs_in(store) == []  # nothing stored
    return out


def test_malformed_dataset_line_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(
        '{"id": "a", "text": "hello", "labels": []}\n{"id": "b", "text": "x", "labels": [}\n'
    )
    out = _bad_input(tmp_path, "--dataset", str(data))
    assert f"{data}:2:" in out.stderr and "invalid JSON" in out.stderr


def test_unknown_category_exits_2_naming_line_and_field(tmp_path: Path) -> None:
    data = tmp_path / "cats.jsonl"
    data.write_text(
        '{"id": "a", "text": "hello", "labels": []}\n'
        '{"id": "b", "text": "bye", "labels": []}\n'
        '{"id": "c", "text": "x", "labels": ["spam"]}\n'
    )
    out = _bad_input(tmp_path, "--dataset", str(data))
    assert f"{data}:3: labels: unknown category 'spam'" in out.stderr


def test_missing_field_in_seed_format_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "seed.json"
    data.write_text(
        '[\n  {"content": "fine", "labels": [], "source": "x"},\n  {"labels": [], "source": "x"}\n]\n'
    )
    out = _bad_input(tmp_path, "--dataset", str(data))
    assert f"{data}:3: content: missing" in out.stderr


def test_missing_policy_file_exits_2_naming_the_path(tmp_path: Path) -> None:
    policies = tmp_path / "pol"
    (policies / "violence").mkdir(parents=True)
    (policies / "violence" / "minimal.md").write_text("---\ncategory: violence\n---\nNo threats.\n")
    (policies / "illegal").mkdir()
    out = _bad_input(tmp_path, "--dataset", "balanced", "--policies", f"{policies}@minimal")
    assert (
        str(policies / "illegal" / "minimal.md") in out.stderr
        and "missing policy file" in out.stderr
    )


def test_bad_option_value_exits_2_naming_the_option(tmp_path: Path) -> None:
    out = _bad_input(tmp_path, "--dataset", "balanced", "--concurrency", "0")
    assert "concurrency" in out.stderr


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"]])
def test_help_documents_options(args: list[str]) -> None:
    out = bench(*args)
    assert out.returncode == 0
    if "run" in args:
        for opt in (
            "--dataset",
            "--policies",
            "--strategy",
            "--model",
            "--base-url",
            "--concurrency",
            "--sim",
            "--json",
            "--store",
        ):
            assert opt in out.stdout
        assert "POLICYBENCH_CONCURRENCY" in out.stdout


def test_runs_table_is_not_squeezed_when_piped(tmp_path: Path) -> None:
    store = tmp_path / "w.sqlite"
    out = bench(
        "run",
        "--dataset",
        "balanced",
        "--sim",
        "--sim-time-scale",
        "0",
        "--limit",
        "3",
        "--no-progress",
        "--store",
        str(store),
    )
    assert out.returncode == 0, out.stderr
    table = bench("runs", "--store", str(store))
    row = next(line for line in table.stdout.splitlines() if "balanced.jsonl" in line)
    assert "openai/gpt-oss-safeguard-20b (sim)" in row  # whole cells, one line per run
