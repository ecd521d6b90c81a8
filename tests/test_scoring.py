"""The scorer against hand-computed expectations (DESIGN.md's definitions)."""

from __future__ import annotations

import pytest
from policybench.service.histogram import LogHistogram
from policybench.service.scoring import (
    CORRECT,
    ERROR,
    PARSE_FAILURE,
    WRONG,
    Gold,
    Scorer,
    outcome_of,
)
from policybench.service.stats import mcnemar_exact, wilson

CATS = ("hate_speech", "violence", "illegal")
F = frozenset


def add(
    scorer: Scorer,
    gold: set[str],
    predicted: set[str] | None,
    failure: str | None = None,
    source: str = "s",
) -> None:
    g = Gold(F(gold), bool(gold))
    pred = None if predicted is None else F(predicted)
    scorer.add(g, pred, outcome_of(g, pred, failure), source)


def test_hand_computed_example() -> None:
    s = Scorer(CATS)
    add(s, set(), set())  # safe, right
    add(s, set(), {"violence"})  # safe flagged: FP violence
    add(s, {"violence"}, {"violence"})  # exact
    add(s, {"violence", "illegal"}, {"violence"})  # binary right, multi wrong; FN illegal
    add(s, {"hate_speech"}, None, PARSE_FAILURE)  # failure: wrong, FN hate_speech
    add(s, set(), None, ERROR)  # failure on a safe sample
    summary = s.summary(dispatch_seconds=3600.0)

    # multi: correct = 1st and 3rd = 2 of 6
    assert summary["multi_policy_accuracy"]["successes"] == 2
    assert summary["multi_policy_accuracy"]["n"] == 6
    # binary: 1st, 3rd, 4th right; 2nd wrong (flagged safe); failures wrong = 3 of 6
    assert summary["binary_accuracy"]["successes"] == 3
    assert summary["parse_failures"] == 1 and summary["errors"] == 1
    # FPR over safe samples with a verdict: 1 flagged of 2
    assert summary["false_positive_rate"] == pytest.approx(0.5)
    # FNR over unsafe samples with a verdict: none missed of 2
    assert summary["false_negative_rate"] == pytest.approx(0.0)
    v = summary["per_category"]["violence"]
    assert (v["tp"], v["fp"], v["fn"], v["tn"]) == (2, 1, 0, 1)
    assert v["precision"] == pytest.approx(2 / 3) and v["recall"] == pytest.approx(1.0)
    assert v["f1"] == pytest.approx(0.8)
    i = summary["per_category"]["illegal"]
    assert (i["tp"], i["fn"], i["support"]) == (0, 1, 1)
    h = summary["per_category"]["hate_speech"]
    assert (h["tp"], h["fn"]) == (0, 1)  # the failed sample counts as a miss
    # throughput counts the 4 samples with a verdict; all 6 are in completed_per_hour
    assert summary["samples_per_hour"] == pytest.approx(4.0)
    assert summary["completed_per_hour"] == pytest.approx(6.0)
    assert summary["outcomes"][CORRECT] == 2 and summary["outcomes"][WRONG] == 2


def test_binary_only_and_partial_labels_are_scored_honestly() -> None:
    s = Scorer(CATS)
    binary = Gold(None, True)
    s.add(binary, F({"illegal"}), outcome_of(binary, F({"illegal"}), None))
    partial = Gold(F({"violence"}), True, unknown=F({"illegal"}))
    s.add(
        partial, F({"violence", "illegal"}), outcome_of(partial, F({"violence", "illegal"}), None)
    )
    summary = s.summary(1.0)
    assert summary["multi_policy_accuracy"] is None  # no sample has every label known
    assert summary["binary_accuracy"]["n"] == 2 and summary["binary_accuracy"]["successes"] == 2
    # the unknown illegal label is not counted as a false positive
    assert summary["per_category"]["illegal"]["fp"] == 0
    assert summary["unknown_labels"] == 2


@pytest.mark.parametrize(("k", "n"), [(23, 100), (0, 17), (300, 300), (63, 300), (1, 2)])
def test_wilson_agrees_with_scipy(k: int, n: int) -> None:
    from scipy.stats import binomtest

    r = wilson(k, n)
    assert r is not None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert r["ci_low"] == pytest.approx(ci.low, abs=1e-9)
    assert r["ci_high"] == pytest.approx(ci.high, abs=1e-9)
    assert wilson(0, 0) is None


def test_mcnemar_seed_pattern_is_not_significant() -> None:
    # 21.0% vs 23.0% on 300 samples: 6 more right, e.g. 20 vs 14 discordant
    assert mcnemar_exact(20, 14) > 0.05
    assert mcnemar_exact(40, 5) < 0.05


def test_histogram_quantiles_within_one_percent() -> None:
    h = LogHistogram()
    values = [0.001 * (i + 1) for i in range(1000)]  # 1 ms .. 1 s
    for v in values:
        h.add(v)
    assert h.quantile(0.5) == pytest.approx(0.5, rel=0.011)
    assert h.quantile(0.99) == pytest.approx(0.99, rel=0.011)
    assert LogHistogram().quantile(0.5) is None
