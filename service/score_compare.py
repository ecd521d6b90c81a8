"""Comparing two runs' scores on the same samples: AUPRC and ROC-AUC with a paired bootstrap.

The samples are those both runs scored and whose binary gold label is known.  Each of
``resamples`` bootstrap draws (seeded: the same runs give the same p-value every time)
takes that many samples with replacement, the same samples for both runs, and computes
each run's AUPRC and ROC-AUC on them; a draw with one class only is skipped.  The
difference B - A is reported with a 95% percentile interval and a two-sided p-value,
``2 * min(share of draws with difference <= 0, share with difference >= 0)`` (at most 1):
the paired bootstrap test GuardBench-style comparisons use, and the one that fits AUPRC
(which has no closed-form variance).  A difference with p >= 0.05 is not significant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .curves import average_precision, curve, roc_auc

ALPHA = 0.05  # as service/compare.py: p >= 0.05 is "not significant"

RESAMPLES = 2000
SEED = 0


def _pairs(
    a: Mapping[str, dict[str, Any]], b: Mapping[str, dict[str, Any]]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    sa, sb, y = [], [], []
    for sid, ra in a.items():
        rb = b.get(sid)
        if rb is None or ra.get("score") is None or rb.get("score") is None:
            continue
        unsafe = (ra.get("gold") or {}).get("unsafe")
        if unsafe is None:
            continue
        sa.append(float(ra["score"]))
        sb.append(float(rb["score"]))
        y.append(bool(unsafe))
    return np.asarray(sa), np.asarray(sb), np.asarray(y, dtype=bool)


def _figures(s: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[float | None, float | None]:
    c = curve(s, y)
    return average_precision(c), roc_auc(c)


def paired_score_test(
    a: Mapping[str, dict[str, Any]],
    b: Mapping[str, dict[str, Any]],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, Any] | None:
    """The ``scores`` block of a comparison, or ``None`` when either run has no scores."""
    sa, sb, y = _pairs(a, b)
    if y.size == 0:
        return None
    ap_a, auc_a = _figures(sa, y)
    ap_b, auc_b = _figures(sb, y)
    out: dict[str, Any] = {"pairs": int(y.size), "resamples": resamples, "seed": seed}
    if None in (ap_a, ap_b, auc_a, auc_b):
        out.update(auprc_a=ap_a, auprc_b=ap_b, roc_auc_a=auc_a, roc_auc_b=auc_b)
        out["sentence"] = "Both classes are needed on the paired samples: no AUPRC to compare."
        return out
    rng = np.random.default_rng(seed)
    d_ap, d_auc = [], []
    for _ in range(resamples):
        idx = rng.integers(0, y.size, y.size)
        yy = y[idx]
        if yy.all() or not yy.any():
            continue
        fa, fb = _figures(sa[idx], yy), _figures(sb[idx], yy)
        d_ap.append((fb[0] or 0.0) - (fa[0] or 0.0))
        d_auc.append((fb[1] or 0.0) - (fa[1] or 0.0))
    for name, va, vb, diffs in (
        ("auprc", ap_a, ap_b, np.asarray(d_ap)),
        ("roc_auc", auc_a, auc_b, np.asarray(d_auc)),
    ):
        assert va is not None and vb is not None
        p = 1.0
        if diffs.size:
            p = min(1.0, 2.0 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
        out[name] = {
            "a": va,
            "b": vb,
            "delta": vb - va,
            "ci_low": float(np.percentile(diffs, 2.5)) if diffs.size else None,
            "ci_high": float(np.percentile(diffs, 97.5)) if diffs.size else None,
            "p_value": p,
            "significant": p < ALPHA,
        }
    ap = out["auprc"]
    verdict = (
        f"significant (paired bootstrap p = {ap['p_value']:.3g}): "
        f"{'B' if ap['delta'] > 0 else 'A'} ranks better"
        if ap["significant"]
        else f"NOT significant (paired bootstrap p = {ap['p_value']:.3g})"
    )
    out["sentence"] = (
        f"AUPRC B {ap['b']:.3f} vs A {ap['a']:.3f} on {y.size} paired scored samples: "
        f"{ap['delta']:+.3f} [{ap['ci_low']:+.3f}, {ap['ci_high']:+.3f}], {verdict}."
    )
    return out
