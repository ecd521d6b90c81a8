"""Binary-only and partially labelled datasets, run against the simulated server: binary
accuracy, FPR and FNR are scored; multi-policy accuracy only over fully known samples; the
summary and the terminal report say how many samples had unknown labels."""

from __future__ import annotations

import json
from pathlib import Path

from policybench.bench.render import render_summary
from policybench.service.config import build_run_config
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from rich.console import Console

from .conftest import BALANCED, RUN_MODEL, SimFactory


def _rows() -> list[dict]:
    return [json.loads(line) for line in BALANCED.read_text().splitlines() if line.strip()]


async def _run(path: Path, url: str, store: Store) -> dict:
    config = build_run_config(
        {
            "dataset": str(path),
            "base_url": url,
            "model": RUN_MODEL,
            "concurrency": 16,
            "backend": "simulated",
        }
    )
    result = await Run(prepare(config), store).execute()
    assert result.status == "success"
    return result.summary


async def test_binary_only_dataset(tmp_path: Path, sim: SimFactory, store: Store) -> None:
    path = tmp_path / "binary.jsonl"
    rows = _rows()
    with path.open("w") as f:
        for r in rows:  # same texts, labels reduced to safe/unsafe
            f.write(
                json.dumps({"id": r["id"], "text": r["text"], "unsafe": bool(r["labels"])}) + "\n"
            )
    async with sim(error_rate=0.0) as (url, _app):  # it knows the full labels of balanced
        summary = await _run(path, url, store)
    assert summary.multi_policy_accuracy is None
    assert summary.binary_accuracy.value == 1.0
    assert summary.binary_accuracy.n == 90
    assert summary.false_positive_rate == 0.0 and summary.false_negative_rate == 0.0
    assert summary.unknown_labels == 90
    assert all(c.support == 0 and c.tp == 0 for c in summary.per_category.values())
    console = Console(record=True, width=120)
    render_summary(summary, console)
    text = console.export_text()
    assert "samples with unknown labels" in text and "90 of 90 samples had unknown" in text
    assert "No sample supports multi-policy accuracy" in text


async def test_partial_labels_excluded_from_multi(
    tmp_path: Path, sim: SimFactory, store: Store
) -> None:
    path = tmp_path / "partial.jsonl"
    partial = 0
    with path.open("w") as f:
        for i, r in enumerate(_rows()):
            if i % 3 == 0 and "illegal" not in r["labels"]:
                # the illegal label was never annotated for this sample
                r["unknown"] = ["illegal"]
                partial += 1
            f.write(json.dumps(r) + "\n")
    async with sim(error_rate=0.3, seed=5) as (url, _app):
        summary = await _run(path, url, store)
    multi = summary.multi_policy_accuracy
    assert multi is not None and multi.n == 90 - partial
    assert summary.unknown_labels == partial > 0
    # binary gold is known for the partial unsafe ones, unknown for the partial "safe" ones
    safe_partial = sum(1 for i, r in enumerate(_rows()) if i % 3 == 0 and not r["labels"])
    assert summary.binary_accuracy.n == 90 - safe_partial
    # illegal is scored only where known
    illegal = summary.per_category["illegal"]
    assert illegal.tp + illegal.fp + illegal.fn + illegal.tn == 90 - partial


async def test_imported_openai_moderation_never_scores_unknown_as_safe(
    tmp_path: Path, sim: SimFactory, store: Store
) -> None:
    from click.testing import CliRunner
    from policybench.bench.cli import cli

    src = Path(__file__).parent / "fixtures" / "importers" / "samples-1680.jsonl.gz"
    out = tmp_path / "oai.jsonl"
    result = CliRunner().invoke(
        cli, ["datasets", "import", "openai-moderation", str(src), "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    async with sim(error_rate=0.0, datasets=[out]) as (url, _app):
        summary = await _run(out, url, store)
    assert summary.multi_policy_accuracy is None  # illegal is never labelled
    assert summary.unknown_labels == 5
    assert summary.binary_accuracy.n == 4  # the restaurant sample has no binary gold
