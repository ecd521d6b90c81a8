"""Binary precision, recall and F1 (unsafe = positive): hand-computed figures, the intervals'
method and coverage, the three failure rules, the paired bootstrap, and the same figures
end to end (run summary, rescore under another rule, compare, Prometheus) against the
simulated server over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.bench.sim import FaultConfig
from policybench.service.binary import (
    Cell,
    FailureRule,
    binary_scores,
    cell_of,
    f1_interval,
    paired_f1_bootstrap,
)
from policybench.service.compare import compare_runs
from policybench.service.config import build_run_config
from policybench.service.metrics import RunMetrics
from policybench.service.rescoring import rescore
from policybench.service.runner import Run, prepare
from policybench.service.runsummary import summarise
from policybench.service.store import Store
from prometheus_client import CollectorRegistry
from scipy.stats import binomtest

from .conftest import BALANCED, SimFactory

# 12 samples: gold unsafe, predicted unsafe (None = no verdict), failure
HAND = [
    (True, True, None),  # TP
    (True, True, None),  # TP
    (True, True, None),  # TP
    (True, False, None),  # FN
    (True, None, "parse_failure"),  # wrong/flip: FN; exclude: out
    (True, None, "error"),  # wrong: FN; flip/exclude: out
    (False, True, None),  # FP
    (False, False, None),  # TN
    (False, False, None),  # TN
    (False, None, "parse_failure"),  # wrong/flip: FP; exclude: out
    (False, None, "error"),  # wrong: FP; flip/exclude: out
    (False, False, None),  # TN
]


@pytest.mark.parametrize(
    ("rule", "tp", "fp", "fn", "tn", "excluded"),
    [
        ("wrong", 3, 3, 3, 3, 0),
        ("flip", 3, 2, 2, 3, 2),
        ("exclude", 3, 1, 1, 3, 4),
    ],
)
def test_hand_computed_confusion_and_figures(
    rule: str, tp: int, fp: int, fn: int, tn: int, excluded: int
) -> None:
    out = binary_scores(HAND, FailureRule(rule))
    c = out["binary_counts"]
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (tp, fp, fn, tn)
    assert c["excluded_parse_failures"] + c["excluded_errors"] == excluded
    assert c["failure_rule"] == rule
    assert out["binary_precision"]["value"] == pytest.approx(tp / (tp + fp))
    assert out["binary_recall"]["value"] == pytest.approx(tp / (tp + fn))
    p, r = tp / (tp + fp), tp / (tp + fn)
    assert out["binary_f1"]["value"] == pytest.approx(2 * p * r / (p + r))


def test_wrong_f1_by_hand() -> None:
    # wrong: TP 3, FP 3, FN 3 -> P = R = 0.5, F1 = 0.5
    assert binary_scores(HAND)["binary_f1"]["value"] == pytest.approx(0.5)
    # exclude: TP 3, FP 1, FN 1 -> P = R = 0.75, F1 = 0.75
    assert binary_scores(HAND, FailureRule.EXCLUDE)["binary_f1"]["value"] == pytest.approx(0.75)


def test_rules_cell_by_cell() -> None:
    assert cell_of(True, None, "parse_failure", FailureRule.FLIP) is Cell.FN
    assert cell_of(False, None, "parse_failure", FailureRule.FLIP) is Cell.FP
    assert cell_of(False, None, "error", FailureRule.FLIP) is Cell.EXCLUDED
    assert cell_of(False, None, "error", FailureRule.WRONG) is Cell.FP
    assert cell_of(True, None, "parse_failure", FailureRule.EXCLUDE) is Cell.EXCLUDED
    assert cell_of(True, True, None, FailureRule.EXCLUDE) is Cell.TP


def test_precision_and_recall_intervals_are_wilson() -> None:
    out = binary_scores(HAND)
    for key, k, n in (("binary_precision", 3, 6), ("binary_recall", 3, 6)):
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert out[key]["ci_low"] == pytest.approx(ci.low, abs=1e-9)
        assert out[key]["ci_high"] == pytest.approx(ci.high, abs=1e-9)


def test_f1_interval_is_wilson_on_jaccard_mapped() -> None:
    tp, fp, fn = 8, 2, 4
    out = f1_interval(tp, fp, fn)
    assert out is not None
    assert out["value"] == pytest.approx(16 / 22)
    ci = binomtest(tp, tp + fp + fn).proportion_ci(0.95, method="wilson")
    assert out["ci_low"] == pytest.approx(2 * ci.low / (1 + ci.low), abs=1e-9)
    assert out["ci_high"] == pytest.approx(2 * ci.high / (1 + ci.high), abs=1e-9)
    assert out["ci_low"] < out["value"] < out["ci_high"]


def test_undefined_figures_are_none() -> None:
    all_safe = binary_scores([(False, False, None), (False, True, None)])
    assert all_safe["binary_recall"] is None and all_safe["binary_f1"] is None
    assert all_safe["binary_precision"]["value"] == 0.0
    flags_nothing = binary_scores([(True, False, None), (False, False, None)])
    assert flags_nothing["binary_precision"] is None
    assert flags_nothing["binary_f1"]["value"] == 0.0  # F1 is 0, as scikit-learn says
    assert flags_nothing["binary_f1"]["ci_high"] > 0.0


def test_f1_interval_covers_the_true_f1_about_95_percent_of_the_time() -> None:
    """Seeded simulation: 2,000 datasets of 200 samples from known cell probabilities."""
    rng = np.random.default_rng(7)
    probs = np.array([0.25, 0.08, 0.12, 0.55])  # TP FP FN TN
    true_f1 = 2 * probs[0] / (2 * probs[0] + probs[1] + probs[2])
    covered = 0
    trials = 2000
    for tp, fp, fn, _tn in rng.multinomial(200, probs, size=trials):
        ci = f1_interval(int(tp), int(fp), int(fn))
        assert ci is not None
        covered += ci["ci_low"] <= true_f1 <= ci["ci_high"]
    assert 0.93 <= covered / trials <= 0.97


def _table(pairs: list[tuple[Cell, Cell]]) -> dict[tuple[Cell, Cell], int]:
    table: dict[tuple[Cell, Cell], int] = {}
    for pair in pairs:
        table[pair] = table.get(pair, 0) + 1
    return table


def test_paired_bootstrap_identical_runs_not_significant_and_seeded() -> None:
    same = _table([(Cell.TP, Cell.TP)] * 40 + [(Cell.FN, Cell.FN)] * 10 + [(Cell.TN, Cell.TN)] * 50)
    result = paired_f1_bootstrap(same, seed=3)
    assert result.delta == 0.0
    assert result.p_value == 1.0
    assert result.ci_low == result.ci_high == 0.0


def test_paired_bootstrap_detects_a_large_difference() -> None:
    # A misses 30 of 50 unsafe samples that B catches; both agree elsewhere
    table = _table(
        [(Cell.TP, Cell.TP)] * 20 + [(Cell.FN, Cell.TP)] * 30 + [(Cell.TN, Cell.TN)] * 50
    )
    result = paired_f1_bootstrap(table, seed=1)
    assert result.f1_a == pytest.approx(40 / 70)
    assert result.f1_b == pytest.approx(1.0)
    assert result.p_value is not None and result.p_value < 0.001
    assert result.ci_low is not None and result.ci_high is not None
    assert 0 < result.ci_low < result.delta < result.ci_high  # type: ignore[operator]
    assert paired_f1_bootstrap(table, seed=1) == result  # same seed, same figures
    assert paired_f1_bootstrap(table, seed=2).ci_low != result.ci_low


def test_paired_bootstrap_small_difference_is_not_significant() -> None:
    table = _table(
        [(Cell.TP, Cell.TP)] * 40
        + [(Cell.FN, Cell.TP)] * 2
        + [(Cell.TP, Cell.FN)] * 1
        + [(Cell.TN, Cell.TN)] * 57
    )
    result = paired_f1_bootstrap(table, seed=0)
    assert result.p_value is not None and result.p_value >= 0.05
    assert result.ci_low is not None and result.ci_low < 0 < (result.ci_high or 0)


# -- end to end ---------------------------------------------------------------------------
def recount(store: Store, run_id: str, rule: FailureRule) -> dict[str, Any]:
    """Independent recount of the binary table from the raw stored records."""
    triples = []
    for r in store.iter_records(run_id):
        gold = r["gold"]["unsafe"]
        if gold is None:
            continue
        failed = r["outcome"] in ("parse_failure", "error")
        predicted = None if r["predicted"] is None else bool(r["predicted"])
        triples.append((gold, predicted, r["outcome"] if failed else None))
    tp = sum(g and p for g, p, f in triples if f is None)
    fp = sum((not g) and p for g, p, f in triples if f is None)
    fn = sum(g and not p for g, p, f in triples if f is None)
    fails = [(g, f) for g, p, f in triples if f is not None]
    for g, f in fails:
        counted = rule == "wrong" or (rule == "flip" and f == "parse_failure")
        if counted:
            tp, fp, fn = tp, fp + (not g), fn + g
    return {"tp": tp, "fp": fp, "fn": fn, "failures": len(fails)}


async def faulty_run(sim: SimFactory, store: Store, **cfg: Any) -> Any:
    faults = FaultConfig(rates=(("500", 0.15),), retry_after=0.0)
    async with sim(error_rate=0.2, seed=4, faults=faults, empty_rate=0.1) as (url, _app):
        config = build_run_config(
            {
                "dataset": str(BALANCED),
                "base_url": url,
                "concurrency": 16,
                "max_attempts": 1,
                **cfg,
            }
        )
        registry = CollectorRegistry()
        observer = RunMetrics(registry).observer()
        result = await Run(prepare(config), store, observer=observer).execute()
    return result, registry


async def test_run_summary_rescore_and_prometheus_agree_with_a_recount(
    sim: SimFactory, store: Store
) -> None:
    result, registry = await faulty_run(sim, store)
    s, rid = result.summary.to_json(), result.run_id
    assert s["failure_rule"] == "wrong"
    assert s["parse_failures"] > 0 and s["errors"] > 0  # both kinds of failure occurred
    expect = recount(store, rid, FailureRule.WRONG)
    c = s["binary_counts"]
    assert (c["tp"], c["fp"], c["fn"]) == (expect["tp"], expect["fp"], expect["fn"])
    assert c["failures_counted"] == expect["failures"] == s["parse_failures"] + s["errors"]
    f1 = 2 * c["tp"] / (2 * c["tp"] + c["fp"] + c["fn"])
    assert s["binary_f1"]["value"] == pytest.approx(f1)
    assert s["binary_f1"]["ci_low"] < f1 < s["binary_f1"]["ci_high"]
    gauge = registry.get_sample_value(
        "policybench_binary_f1_ratio", {"run_id": rid, "failure_rule": "wrong"}
    )
    assert gauge == pytest.approx(f1)
    # the stored run re-derives the same figures; other rules re-score without a request
    assert summarise(store, rid).summary.to_json()["binary_f1"] == s["binary_f1"]
    for rule in (FailureRule.FLIP, FailureRule.EXCLUDE):
        again = rescore(store, rid, failures=rule)
        assert again.changed == 0  # same verdicts, other counting
        expect = recount(store, rid, rule)
        rc = again.summary.to_json()["binary_counts"]
        assert again.summary.to_json()["failure_rule"] == rule
        assert (rc["tp"], rc["fp"], rc["fn"]) == (expect["tp"], expect["fp"], expect["fn"])
        left_out = rc["excluded_parse_failures"] + rc["excluded_errors"]
        assert left_out == (s["errors"] if rule == "flip" else expect["failures"])
        assert again.summary.to_json()["binary_f1"]["value"] != s["binary_f1"]["value"]
        assert (
            summarise(store, rid, rule).summary.to_json()["binary_f1"]
            == again.summary.to_json()["binary_f1"]
        )


async def test_failure_rule_is_recorded_in_the_run_config(sim: SimFactory, store: Store) -> None:
    result, _ = await faulty_run(sim, store, failures="exclude")
    row = store.get_run(result.run_id)
    assert row.config["failures"] == "exclude"
    assert result.summary.to_json()["failure_rule"] == "exclude"
    assert result.summary.to_json()["binary_counts"]["failures_counted"] == 0
    # a later summary of the stored run uses the run's own rule
    assert summarise(store, result.run_id).summary.to_json()["failure_rule"] == "exclude"


async def test_compare_tests_the_f1_difference(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    ids = []
    for error_rate, seed in ((0.4, 1), (0.02, 2), (0.4, 9)):
        async with sim(error_rate=error_rate, seed=seed) as (url, _app):
            config = build_run_config(
                {"dataset": str(BALANCED), "base_url": url, "concurrency": 16}
            )
            ids.append((await Run(prepare(config), store).execute()).run_id)
    worse, better, similar = ids
    big = compare_runs(store, worse, better)
    assert big.binary_f1.pairs == 90
    assert big.binary_f1.p_value is not None and big.binary_f1.p_value < 0.05
    assert "significant" in big.f1_sentence() and "NOT" not in big.f1_sentence()
    assert big.binary_f1.f1_a == pytest.approx(
        summarise(store, worse).summary.to_json()["binary_f1"]["value"]
    )
    small = compare_runs(store, worse, similar)
    assert small.binary_f1.p_value is not None and small.binary_f1.p_value >= 0.05
    assert "NOT significant" in small.f1_sentence()
    db = str(tmp_path / "runs.sqlite")
    out = CliRunner().invoke(cli, ["compare", worse, better, "--store", db, "--json"])
    assert out.exit_code == 0, out.output
    data = orjson.loads(out.stdout)
    assert data["binary_f1"]["p_value"] == big.binary_f1.p_value
    assert data["binary_f1"]["significant"] is True
    assert data["binary_f1"]["failure_rule_a"] == "wrong"


def test_matrix_and_reports_show_binary_f1(tmp_path: Path) -> None:
    matrix = tmp_path / "grid.toml"
    matrix.write_text(
        f'[matrix]\nname = "grid"\nmodels = ["model-a", "model-b"]\npolicies = ["minimal"]\n'
        f'datasets = ["{BALANCED}"]\n[sim]\n[sim.models."model-a"]\nerror_rate = 0.4\nseed = 3\n'
    )
    db = str(tmp_path / "runs.sqlite")
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "matrix",
            str(matrix),
            "--sim",
            "--metric",
            "f1",
            "--store",
            db,
            "--json",
            "--no-progress",
        ],
    )
    assert out.exit_code == 0, out.output
    data = orjson.loads(out.stdout)
    assert data["metric"] == "f1"
    store = Store(tmp_path / "runs.sqlite")
    try:
        figures = []
        for cell in data["cells"]:
            expect = recount(store, cell["run_id"], FailureRule.WRONG)
            f1 = 2 * expect["tp"] / (2 * expect["tp"] + expect["fp"] + expect["fn"])
            assert cell["binary_f1"]["value"] == pytest.approx(f1)
            assert cell["failure_rule"] == "wrong"
            figures.append(cell["binary_f1"])
    finally:
        store.close()
    assert figures[0]["value"] < figures[1]["value"]  # model-a errs more
    assert "binary F1, unsafe = positive" in " ".join(out.stderr.split())
    args = ["report", "--matrix", str(matrix), "--sim", "--metric", "f1", "--format", "markdown"]
    md = runner.invoke(cli, [*args, "--store", db])
    assert md.exit_code == 0, md.output
    cell_text = f"{figures[0]['value']:.1%} [{figures[0]['ci_low'] * 100:.1f}-"
    assert cell_text in md.stdout
    assert "Binary F1, unsafe = positive [95% CI]" in md.stdout
    assert "- Binary F1 (unsafe = positive): " in md.stdout
