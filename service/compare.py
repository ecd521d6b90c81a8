"""Paired comparison of two stored runs on the same samples.

Two runs are paired only when they ran on the same dataset (same fingerprint); the
samples both have a scored record for are the pairs.  Each side's accuracy is the share
of paired samples it got right (``outcome == "correct"``: the exact set where the gold
supports it, else the binary answer; parse failures and errors are wrong), with a 95%
Wilson interval; the difference is tested with the two-sided exact McNemar test on the
discordant pairs (scipy's binomial test), and called significant only when p < 0.05.
Per-category F1 is computed for each side on the paired samples alone.

Binary F1 (unsafe = positive) is compared with a seeded paired bootstrap of the
difference (``service/binary.py``), over the paired samples with a binary gold, each side's
failures entered by its own failure rule unless one rule is given for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .binary import Cell, FailureRule, PairedF1, cell_of, paired_f1_bootstrap
from .errors import PolicybenchError
from .records import gold_of, replay
from .runsummary import failure_rule_of, run_categories
from .score_compare import paired_score_test
from .scoring import CORRECT, ERROR, PARSE_FAILURE, UNSCORED, Scorer
from .stats import mcnemar_exact, wilson
from .store import RunRow, Store

ALPHA = 0.05


class UnpairableRuns(PolicybenchError):
    """The two runs were not on the same samples, so a paired test means nothing."""


@dataclass(frozen=True, slots=True)
class Comparison:
    run_a: RunRow
    run_b: RunRow
    pairs: int
    unpaired_a: int
    unpaired_b: int
    accuracy_a: dict[str, Any] | None
    accuracy_b: dict[str, Any] | None
    only_a: int  # A right, B wrong
    only_b: int  # B right, A wrong
    both: int
    neither: int
    p_value: float
    per_category: dict[str, dict[str, Any]]
    binary_f1: PairedF1
    failure_rules: tuple[FailureRule, FailureRule]
    #: AUPRC / ROC-AUC with a paired bootstrap, when both runs have scores (score_compare.py)
    scores: dict[str, Any] | None = None

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    @property
    def delta(self) -> float | None:
        if self.accuracy_a is None or self.accuracy_b is None:
            return None
        return float(self.accuracy_b["value"] - self.accuracy_a["value"])

    def sentence(self) -> str:
        """One plain sentence on what the comparison shows."""
        a, b = self.accuracy_a, self.accuracy_b
        if a is None or b is None:
            return "No scored sample is common to both runs: nothing to compare."
        discordant = self.only_a + self.only_b
        head = (
            f"B ({b['value']:.1%}) vs A ({a['value']:.1%}) on {self.pairs} paired samples: "
            f"{(self.delta or 0.0) * 100:+.1f} points"
        )
        test = (
            f"exact McNemar p = {self.p_value:.3g} "
            f"({discordant} discordant: {self.only_a} only A right, {self.only_b} only B right)"
        )
        if self.significant:
            better = "B" if self.only_b > self.only_a else "A"
            return f"{head}; the difference is significant ({test}): {better} is better."
        return (
            f"{head}; the difference is NOT significant ({test}): "
            "these samples cannot tell the two runs apart."
        )

    def f1_sentence(self) -> str:
        """One plain sentence on the binary F1 difference and its paired bootstrap."""
        f = self.binary_f1
        if f.f1_a is None or f.f1_b is None:
            return "Binary F1: no paired sample with an unsafe gold label; nothing to compare."
        rules = (
            f"failures: {self.failure_rules[0]}"
            if self.failure_rules[0] == self.failure_rules[1]
            else f"failures: A {self.failure_rules[0]}, B {self.failure_rules[1]}"
        )
        head = (
            f"Binary F1 B {f.f1_b:.3f} vs A {f.f1_a:.3f} on {f.pairs} paired samples "
            f"({rules}): {(f.delta or 0.0) * 100:+.1f} points"
        )
        if f.p_value is None or f.ci_low is None or f.ci_high is None:
            return f"{head}; no bootstrap possible."
        test = (
            f"paired bootstrap p = {f.p_value:.3g}, 95% CI of the difference "
            f"{f.ci_low * 100:+.1f} to {f.ci_high * 100:+.1f} points, "
            f"{f.resamples} resamples, seed {f.seed}"
        )
        if f.p_value < ALPHA:
            better = "B" if (f.delta or 0.0) > 0 else "A"
            return f"{head}; the difference is significant ({test}): {better} is better."
        return (
            f"{head}; the difference is NOT significant ({test}): "
            "these samples cannot tell the two runs' F1 apart."
        )

    def as_dict(self) -> dict[str, Any]:
        f1 = self.binary_f1.as_dict()
        f1["significant"] = self.binary_f1.p_value is not None and self.binary_f1.p_value < ALPHA
        f1["failure_rule_a"] = str(self.failure_rules[0])
        f1["failure_rule_b"] = str(self.failure_rules[1])
        f1["sentence"] = self.f1_sentence()
        return {
            "run_a": self.run_a.run_id,
            "run_b": self.run_b.run_id,
            "dataset_fingerprint": self.run_a.dataset_fingerprint,
            "pairs": self.pairs,
            "unpaired_a": self.unpaired_a,
            "unpaired_b": self.unpaired_b,
            "accuracy_a": self.accuracy_a,
            "accuracy_b": self.accuracy_b,
            "delta": self.delta,
            "only_a_correct": self.only_a,
            "only_b_correct": self.only_b,
            "both_correct": self.both,
            "neither_correct": self.neither,
            "mcnemar_p": self.p_value,
            "significant": self.significant,
            "alpha": ALPHA,
            "per_category": self.per_category,
            "sentence": self.sentence(),
            "binary_f1": f1,
            "scores": self.scores,
        }


def _outcomes(store: Store, run_id: str) -> dict[str, dict[str, Any]]:
    return {r["sample_id"]: r for r in store.iter_records(run_id)}


def _cell(record: dict[str, Any], rule: FailureRule) -> Cell | None:
    gold = gold_of(record)
    if gold.unsafe is None:
        return None
    outcome = record["outcome"]
    failure = outcome if outcome in (PARSE_FAILURE, ERROR) else None
    predicted = record.get("predicted")
    return cell_of(gold.unsafe, None if predicted is None else bool(predicted), failure, rule)


def compare_runs(
    store: Store,
    run_a: str,
    run_b: str,
    failures: FailureRule | None = None,
    seed: int = 0,
) -> Comparison:
    """Pair two stored runs; raises :class:`UnpairableRuns` for different datasets.

    ``failures``: one failure rule for both sides' binary F1 (default: each run's own);
    ``seed``: the paired bootstrap's seed.
    """
    row_a, row_b = store.get_run(run_a), store.get_run(run_b)
    if row_a.dataset_fingerprint != row_b.dataset_fingerprint:
        raise UnpairableRuns(
            f"runs {row_a.run_id} and {row_b.run_id} were on different samples "
            f"(dataset {row_a.dataset_fingerprint} vs {row_b.dataset_fingerprint}): "
            "they cannot be paired; compare each one's interval instead"
        )
    recs_a, recs_b = _outcomes(store, row_a.run_id), _outcomes(store, row_b.run_id)
    ids = [
        sid
        for sid in recs_a
        if sid in recs_b
        and recs_a[sid]["outcome"] != UNSCORED
        and recs_b[sid]["outcome"] != UNSCORED
    ]
    both = only_a = only_b = neither = 0
    cats = run_categories(row_a) or run_categories(row_b)
    rule_a = failures or failure_rule_of(row_a)
    rule_b = failures or failure_rule_of(row_b)
    scorer_a, scorer_b = Scorer(cats, rule_a), Scorer(cats, rule_b)
    table: dict[tuple[Cell, Cell], int] = {}
    for sid in ids:
        ra, rb = recs_a[sid], recs_b[sid]
        cell_a, cell_b = _cell(ra, rule_a), _cell(rb, rule_b)
        if cell_a is not None and cell_b is not None:
            table[cell_a, cell_b] = table.get((cell_a, cell_b), 0) + 1
        ok_a, ok_b = ra["outcome"] == CORRECT, rb["outcome"] == CORRECT
        both += ok_a and ok_b
        only_a += ok_a and not ok_b
        only_b += ok_b and not ok_a
        neither += not ok_a and not ok_b
        replay(ra, scorer_a)
        replay(rb, scorer_b)
    n = len(ids)
    per_cat: dict[str, dict[str, Any]] = {}
    f1_a, f1_b = scorer_a.summary(0.0)["per_category"], scorer_b.summary(0.0)["per_category"]
    for cat in cats:
        fa, fb = f1_a[cat]["f1"], f1_b[cat]["f1"]
        per_cat[cat] = {
            "support": f1_a[cat]["support"],
            "f1_a": fa,
            "f1_b": fb,
            "delta": None if fa is None or fb is None else fb - fa,
        }
    return Comparison(
        run_a=row_a,
        run_b=row_b,
        pairs=n,
        unpaired_a=len(recs_a) - n,
        unpaired_b=len(recs_b) - n,
        accuracy_a=wilson(both + only_a, n),
        accuracy_b=wilson(both + only_b, n),
        only_a=only_a,
        only_b=only_b,
        both=both,
        neither=neither,
        p_value=mcnemar_exact(only_a, only_b),
        per_category=per_cat,
        binary_f1=paired_f1_bootstrap(table, seed=seed),
        failure_rules=(rule_a, rule_b),
        scores=paired_score_test(recs_a, recs_b),
    )
