"""Published-protocol recipes: ``bench datasets import --protocol NAME SRC -o OUT``.

One module per source (several recipes where the source has several published subsets);
:data:`RECIPES` names them all.  :func:`run_recipe` imports with the recipe's importer,
then checks what it wrote against the published counts: a file whose counts differ is not
the file the published tables were computed on (a newer release, a different split), and
the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...datasets import iter_samples
from ..base import ImportOptions
from ..pipeline import ImportReport, run_import
from . import (
    aegis1,
    beavertails,
    harmbench,
    openai_moderation,
    saferlhf,
    simplesafetytests,
    toxicchat0124,
    wildguardtest,
    xstest,
)
from .base import Expected, Recipe, task_gold

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        toxicchat0124.RECIPE,
        openai_moderation.RECIPE,
        openai_moderation.MULTI,
        aegis1.RECIPE,
        harmbench.PROMPTS,
        harmbench.RESPONSES,
        xstest.HARM,
        xstest.REFUSAL,
        saferlhf.RECIPE,
        beavertails.RECIPE,
        wildguardtest.PROMPT,
        wildguardtest.RESPONSE,
        wildguardtest.REFUSAL,
        simplesafetytests.RECIPE,
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ``KeyError`` names the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown protocol {name!r} (known: {', '.join(RECIPES)})") from None


@dataclass(frozen=True, slots=True)
class CountCheck:
    """The counts written beside the published ones."""

    expected: Expected | None
    samples: int
    positive: int
    sampled: bool

    @property
    def matches(self) -> bool | None:
        """``None`` when there is nothing to compare (no published counts, or ``--sample``)."""
        if self.expected is None or self.sampled:
            return None
        if self.expected.samples != self.samples:
            return False
        return self.expected.positive is None or self.expected.positive == self.positive

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "positive": self.positive,
            "expected_samples": None if self.expected is None else self.expected.samples,
            "expected_positive": None if self.expected is None else self.expected.positive,
            "matches": self.matches,
        }

    def describe(self) -> str:
        got = f"{self.samples:,} samples, {self.positive:,} positive"
        if self.expected is None:
            return f"{got} (no published counts to compare)"
        want = f"{self.expected.samples:,} samples" + (
            f", {self.expected.positive:,} positive" if self.expected.positive is not None else ""
        )
        if self.matches is None:
            return f"{got} (sampled; the published set has {want})"
        if self.matches:
            return f"{got}: matches the published {want}"
        return f"{got}: DIFFERS from the published {want} (not the file the tables used?)"


def run_recipe(
    recipe: Recipe, src: Path, out: Path, options: ImportOptions
) -> tuple[ImportReport, CountCheck]:
    """Import ``src`` by ``recipe``; :class:`~...errors.DatasetError` on bad input."""
    report = run_import(recipe.importer, src, out, options, protocol=recipe.record())
    positive = sum(bool(task_gold(s, recipe.task)) for s in iter_samples(out))
    check = CountCheck(recipe.expected, report.written, positive, options.sample is not None)
    return report, check


__all__ = ["RECIPES", "CountCheck", "Expected", "Recipe", "get_recipe", "run_recipe"]
