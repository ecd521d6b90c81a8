"""Statistics for honest numbers: Wilson intervals and the paired exact McNemar test (scipy)."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any


def wilson(successes: int, n: int, confidence: float = 0.95) -> dict[str, Any] | None:
    """``{"value", "ci_low", "ci_high", "successes", "n"}`` with a Wilson score interval.

    The Wilson interval is a closed form (no approximation beyond the method itself), so it
    is computed directly: importing scipy here would cost ~0.7 s at the end of every run.
    The tests check it against scipy's ``binomtest(...).proportion_ci(method="wilson")``.
    """
    if n <= 0:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return {
        "value": p,
        "ci_low": max(0.0, centre - half),
        "ci_high": min(1.0, centre + half),
        "successes": successes,
        "n": n,
    }


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts.

    ``only_a``: samples run A got right and run B wrong; ``only_b`` the reverse.  Under
    the null each discordant pair is a fair coin, so this is a binomial test at p = 0.5.
    """
    n = only_a + only_b
    if n == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(only_a, n, 0.5, alternative="two-sided").pvalue)
