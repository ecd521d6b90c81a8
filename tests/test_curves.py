"""Score metrics against hand computations and an independent (scipy) statistic."""

from __future__ import annotations

import random

import pytest
from policybench.service.curves import curve, score_metrics
from scipy.stats import mannwhitneyu

# Worked by hand in the comments: thresholds 0.9, 0.8 (a tie of one unsafe and one safe
# sample), 0.6, 0.3, 0.1 give (tp, fp) = (1,0) (2,1) (3,1) (3,2) (3,3) with 3 positives.
SCORES = [0.9, 0.8, 0.8, 0.6, 0.3, 0.1]
LABELS = [True, True, False, True, False, False]


def test_average_precision_is_the_stepwise_sum_by_hand() -> None:
    # AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/4 (recall steps x precision) = 29/36
    m = score_metrics(SCORES, LABELS)
    assert m["auprc"] == pytest.approx(29 / 36)


def test_roc_auc_counts_a_tie_as_one_half() -> None:
    # 9 unsafe/safe pairs: 0.9 wins 3, 0.8 wins 2 and ties 1, 0.6 wins 2 -> 7.5 / 9
    assert score_metrics(SCORES, LABELS)["roc_auc"] == pytest.approx(7.5 / 9)


def test_operating_point_figures_by_hand() -> None:
    m = score_metrics(SCORES, LABELS, threshold=0.5)
    op = m["operating_point"]
    assert (op["tp"], op["fp"], op["fn"], op["tn"]) == (3, 1, 0, 2)
    assert op["precision"] == pytest.approx(0.75)
    assert op["recall"] == 1.0
    assert op["f1"] == pytest.approx(6 / 7)
    assert op["false_positive_rate"] == pytest.approx(1 / 3)
    # a score equal to the threshold is flagged
    assert score_metrics(SCORES, LABELS, threshold=0.8)["operating_point"]["fp"] == 1


def test_precision_at_recall_recall_at_fpr_and_best_f1_by_hand() -> None:
    m = score_metrics(SCORES, LABELS)
    # recall >= 0.8 first at threshold 0.6 (precision 3/4), then 3/5 and 1/2
    assert m["precision_at_recall"] == {"0.80": 0.75, "0.90": 0.75, "0.95": 0.75}
    # FPR <= 1%: only the 0.9 threshold (no safe sample above it): recall 1/3
    assert m["recall_at_fpr_0.01"] == pytest.approx(1 / 3)
    # F1 by threshold: 0.5, 2/3, 6/7, 3/4, 2/3 -> best at 0.6
    assert m["best_f1"] == {"threshold": 0.6, "f1": pytest.approx(6 / 7)}
    assert (m["scored"], m["positives"], m["negatives"]) == (6, 3, 3)


def test_best_f1_ties_take_the_highest_threshold() -> None:
    # thresholds 0.9 and 0.7 both give F1 2/3 (tp1 fp0 fn1, then tp2 fp2 fn0)
    m = score_metrics([0.9, 0.7, 0.7, 0.7], [True, True, False, False])
    assert m["best_f1"]["threshold"] == 0.9
    assert m["best_f1"]["f1"] == pytest.approx(2 / 3)


def test_ties_are_one_step_whatever_the_input_order() -> None:
    a = score_metrics([0.5, 0.5, 0.2], [True, False, False])
    b = score_metrics([0.5, 0.5, 0.2], [False, True, False])
    assert a["auprc"] == b["auprc"] == pytest.approx(0.5)
    assert curve([0.5, 0.5, 0.2], [True, False, False]).thresholds.tolist() == [0.5, 0.2]


def test_roc_auc_equals_mann_whitney_on_seeded_data_with_ties() -> None:
    rng = random.Random(7)
    labels = [rng.random() < 0.4 for _ in range(500)]
    scores = [round(rng.random() * 0.6 + (0.3 if y else 0.0), 2) for y in labels]  # many ties
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    u = mannwhitneyu(pos, neg).statistic
    assert score_metrics(scores, labels)["roc_auc"] == pytest.approx(u / (len(pos) * len(neg)))


def test_one_class_only_has_no_auprc_or_auc() -> None:
    m = score_metrics([0.2, 0.9], [False, False])
    assert m["auprc"] is None and m["roc_auc"] is None and m["best_f1"] is None
    assert m["operating_point"]["fp"] == 1
    empty = score_metrics([], [], unscored=4)
    assert empty["scored"] == 0 and empty["unscored"] == 4 and empty["auprc"] is None
