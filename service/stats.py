"""Statistics for honest numbers: Wilson intervals and the paired exact McNemar test (scipy)."""

from __future__ import annotations

from typing import Any


def wilson(successes: int, n: int, confidence: float = 0.95) -> dict[str, Any] | None:
    """``{"value", "ci_low", "ci_high", "successes", "n"}`` with a Wilson score interval."""
    if n <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return {
        "value": successes / n,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
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
