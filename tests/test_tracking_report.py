"""Reports and exports: every figure in every format equals an independent recomputation
from the stored per-sample records; the HTML page is self-contained with its charts (and,
where Chromium is installed, renders headless); exports hold one row per sample."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.config import build_run_config
from policybench.service.datasets import iter_samples
from policybench.service.runner import Run, prepare
from policybench.service.store import Store

from .conftest import BALANCED, SimFactory

CATS = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")
PNG = b"\x89PNG\r\n\x1a\n"
MATRIX = f"""
[matrix]
name = "grid"
models = ["model-a", "model-b"]
policies = ["minimal", "verbose"]
datasets = ["{BALANCED}"]
[sim]
[sim.models."model-a"]
error_rate = 0.4
seed = 3
"""


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval by its formula (independent of scipy)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def recompute(store: Store, run_id: str) -> dict[str, Any]:
    """Accuracies and per-category F1 straight from the stored records."""
    records = list(store.iter_records(run_id))
    n = len(records)
    exact = sum(
        r["predicted"] is not None and set(r["predicted"]) == set(r["gold"]["labels"])
        for r in records
    )
    binary = sum(
        r["predicted"] is not None and bool(r["predicted"]) == bool(r["gold"]["labels"])
        for r in records
    )
    f1 = {}
    for cat in CATS:
        tp = sum(cat in r["gold"]["labels"] and cat in (r["predicted"] or ()) for r in records)
        fp = sum(cat not in r["gold"]["labels"] and cat in (r["predicted"] or ()) for r in records)
        fn = sum(cat in r["gold"]["labels"] and cat not in (r["predicted"] or ()) for r in records)
        f1[cat] = None if tp + fp == 0 or tp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
    return {"n": n, "exact": exact, "binary": binary, "f1": f1}


def short(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k / n:.1%} [{lo * 100:.1f}-{hi * 100:.1f}]"


@pytest.fixture
async def runs(sim: SimFactory, store: Store) -> list[str]:
    ids = []
    for strategy, rate, seed in (("multi", 0.3, 1), ("gauntlet", 0.1, 2), ("multi", 0.05, 4)):
        async with sim(datasets=[BALANCED], error_rate=rate, seed=seed) as (url, _app):
            config = build_run_config(
                {
                    "dataset": str(BALANCED),
                    "base_url": url,
                    "strategy": strategy,
                    "backend": "simulated",
                }
            )
            ids.append((await Run(prepare(config), store).execute()).run_id)
    return ids


def report(store: Store, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["report", "--store", str(store.path), *args], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_terminal_report_equals_recomputation(store: Store, runs: list[str]) -> None:
    out = report(store, *runs, "--format", "terminal")
    for run_id in runs:
        figures = recompute(store, run_id)
        line = next(ln for ln in out.splitlines() if run_id in ln)
        assert short(figures["exact"], figures["n"]) in line
        assert short(figures["binary"], figures["n"]) in line
    assert "significant" in out  # the findings are printed


def test_markdown_report_equals_recomputation(
    store: Store, runs: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "log.md"
    report(store, *runs, "--format", "markdown", "-o", str(out))
    text = out.read_text()
    for run_id in runs:
        fig = recompute(store, run_id)
        section = text.split(f"### Run {run_id}")[1].split("### Run")[0].split("## Findings")[0]
        lo, hi = wilson(fig["exact"], fig["n"])
        assert (
            f"Multi-policy accuracy: {fig['exact'] / fig['n']:.1%} (95% CI {lo:.1%} - {hi:.1%}, "
            f"{fig['exact']}/{fig['n']})"
        ) in section
        lo, hi = wilson(fig["binary"], fig["n"])
        assert (
            f"Overall (binary) accuracy: {fig['binary'] / fig['n']:.1%} (95% CI {lo:.1%}" in section
        )
        for cat, f1 in fig["f1"].items():
            cell = "n/a" if f1 is None else f"{f1:.3f}"
            assert re.search(rf"\| {cat} \|[^\n]*\| {re.escape(cell)} \|", section), cat
    assert "## Findings" in text and ("SIGNIFICANT" in text or "not significant" in text)
    for chart in ("accuracy-vs-throughput", "per-category-f1", "latency-distribution"):
        png = tmp_path / f"log-{chart}.png"
        assert png.read_bytes().startswith(PNG)
        assert f"]({png.name})" in text


def _html_data(text: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="policybench-data">(.*?)</script>', text, re.S
    )
    assert match
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_html_report_with_matrix_equals_recomputation(
    store: Store, runs: list[str], tmp_path: Path
) -> None:
    matrix = tmp_path / "grid.toml"
    matrix.write_text(MATRIX)
    result = CliRunner().invoke(
        cli, ["matrix", str(matrix), "--store", str(store.path), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "report.html"
    report(store, *runs, "--matrix", str(matrix), "--format", "html", "-o", str(out))
    text = out.read_text()
    data = _html_data(text)
    assert len(data["runs"]) == 3 + 4
    for entry in data["runs"]:
        fig = recompute(store, entry["run_id"])
        for key, k in (("multi_policy_accuracy", fig["exact"]), ("binary_accuracy", fig["binary"])):
            acc = entry[key]
            lo, hi = wilson(k, fig["n"])
            assert (acc["successes"], acc["n"]) == (k, fig["n"])
            assert acc["ci_low"] == pytest.approx(lo, abs=1e-9)
            assert acc["ci_high"] == pytest.approx(hi, abs=1e-9)
            assert short(k, fig["n"]) in text
        for cat, f1 in fig["f1"].items():
            assert entry["per_category"][cat]["f1"] == pytest.approx(f1)
    # charts: embedded as base64 PNG (heatmap included) and written beside the page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 4
    assert all(base64.b64decode(i).startswith(PNG) for i in images)
    for chart in (
        "matrix-heatmap",
        "accuracy-vs-throughput",
        "per-category-f1",
        "latency-distribution",
    ):
        assert (tmp_path / f"report-{chart}.png").read_bytes().startswith(PNG)
    assert not re.search(r'(src|href)="https?://', text)  # self-contained
    assert "model-a" in text and "Model x Policy" in text


def test_html_renders_in_headless_chromium(store: Store, runs: list[str], tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed")
    out = tmp_path / "report.html"
    report(store, *runs, "--format", "html", "-o", str(out))
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,2400",
            f"--screenshot={shot}",
            out.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 20_000
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert dom.returncode == 0
    assert dom.stdout.count("data:image/png;base64,") == 3


def test_export_one_row_per_sample_in_every_format(
    store: Store, runs: list[str], tmp_path: Path
) -> None:
    run_id = runs[0]
    ids = [s.id for s in iter_samples(BALANCED)]
    stored = {r["sample_id"]: r for r in store.iter_records(run_id)}

    def export(fmt: str) -> Path:
        out = tmp_path / f"out.{fmt}"
        result = CliRunner().invoke(
            cli, ["export", run_id, "--format", fmt, "-o", str(out), "--store", str(store.path)]
        )
        assert result.exit_code == 0, result.output
        return out

    lines = [orjson.loads(x) for x in export("jsonl").read_bytes().splitlines()]
    assert [x["sample_id"] for x in lines] == ids
    assert lines == [stored[i] for i in ids]

    with export("csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["sample_id"] for r in rows] == ids
    for row in rows:
        rec = stored[row["sample_id"]]
        assert row["outcome"] == rec["outcome"]
        assert row["predicted"] == ";".join(sorted(rec["predicted"] or []))
        assert row["raw_output"] == rec["parts"][0]["content"]

    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(export("parquet")).to_pylist()
    assert [r["sample_id"] for r in table] == ids
    assert [r["outcome"] for r in table] == [stored[i]["outcome"] for i in ids]
    assert all(r["run_id"] == run_id for r in table)


def test_export_unknown_run_is_a_usage_error(store: Store, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["export", "nope", "-o", str(tmp_path / "x.jsonl"), "--store", str(store.path)]
    )
    assert result.exit_code == 2
    assert "no run 'nope'" in result.stderr
    assert not (tmp_path / "x.jsonl").exists()
