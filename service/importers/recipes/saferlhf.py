"""PKU-SafeRLHF test split, response task: the pairs whose two responses differ in safety.

Reads ``PKU-Alignment/PKU-SafeRLHF``'s test split (parquet/JSONL: ``prompt, response_0,
response_1, is_response_0_safe, is_response_1_safe, ...``).  Keeps the pairs where exactly
one response is safe, draws 1,000 of them as ``datasets.Dataset.shuffle(seed=42)`` followed
by the first 1,000 rows would (numpy's ``default_rng(42).permutation``), and writes both
responses of each drawn pair: 2,000 samples, 1,000 harmful and 1,000 not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Dropped, Importer, Row
from ..sources import read_rows
from .base import FALSE, TRUE, Expected, Recipe, flag, task_sample

PAIRS, SEED = 1000, 42
COLUMNS = ("prompt", "response_0", "response_1", "is_response_0_safe", "is_response_1_safe")


def pair_rows(path: Path, ctx: Context) -> Iterator[Row]:
    """One row per response of each drawn pair (``which`` says which response)."""
    differing: list[Row] = []
    for row in read_rows(path, COLUMNS):
        safe_0 = flag(ctx, row, "is_response_0_safe", TRUE, FALSE)
        safe_1 = flag(ctx, row, "is_response_1_safe", TRUE, FALSE)
        if safe_0 != safe_1:
            differing.append(row)
    order = np.random.default_rng(SEED).permutation(len(differing))[:PAIRS]
    for index in order:
        row = differing[int(index)]
        for which in (0, 1):
            yield Row(row.line, {**row.data, "which": which})


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    which = row.data["which"]
    safe = flag(ctx, row, f"is_response_{which}_safe", TRUE, FALSE)
    return task_sample(
        ctx,
        row,
        task=Task.RESPONSE,
        text=row.data.get("prompt"),
        response=row.data.get(f"response_{which}"),
        positive=not safe,
        source="saferlhf",
        meta={"response": which},
    )


RECIPE = Recipe(
    name="saferlhf",
    task=Task.RESPONSE,
    importer=Importer(
        name="saferlhf",
        description="PKU-SafeRLHF test, 1,000 pairs differing in safety (seed 42), both responses",
        convert=convert,
        columns=COLUMNS,
        prefix="saferlhf",
        rows=pair_rows,
        keep_duplicates=True,
    ),
    reads="PKU-Alignment/PKU-SafeRLHF, split test",
    rule="pairs with is_response_0_safe != is_response_1_safe; 1,000 drawn by a seed-42 "
    "shuffle; both responses, harmful if not safe",
    source="PKU-SafeRLHF (Ji et al. 2024); SafeRLHF in WildGuard Table 4 and GuardReasoner Table 2",
    expected=Expected(2000, 1000),
)
