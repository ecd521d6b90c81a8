"""The scores of a run's samples, kept for its curves: P(unsafe) and the binary gold label.

AUPRC and ROC-AUC need every score, so unlike the counters in :mod:`.scoring` this grows
with the dataset: two compact arrays (a float and a byte a sample, about 9 MB a million).
Samples scored but without a binary gold label, and samples with a gold label but no
score, are counted (``unscored``) and left out of the figures; see :mod:`.curves`.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

from .curves import DEFAULT_THRESHOLD, curve_points, score_metrics


@dataclass(slots=True)
class ScoreBook:
    threshold: float = DEFAULT_THRESHOLD
    values: array[float] = field(default_factory=lambda: array("d"))
    labels: array[int] = field(default_factory=lambda: array("b"))
    unscored: int = 0
    seen: int = 0
    #: The run asked for scores (a summary even if none could be read).
    enabled: bool = False

    def add(self, unsafe: bool | None, score: float | None) -> None:
        if score is not None:
            self.seen += 1
        if unsafe is None:
            return
        if score is None:
            self.unscored += 1
            return
        self.values.append(score)
        self.labels.append(1 if unsafe else 0)

    def summary(self) -> dict[str, Any] | None:
        """The ``scores`` block of the summary; ``None`` for a run without scores."""
        if not self.enabled and self.seen == 0:
            return None
        labels = [bool(b) for b in self.labels]
        return score_metrics(self.values, labels, self.threshold, self.unscored)

    def points(self) -> dict[str, list[float]] | None:
        if not self.values:
            return None
        return curve_points(self.values, [bool(b) for b in self.labels])
