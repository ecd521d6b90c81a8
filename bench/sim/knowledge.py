"""What the simulated model "knows": the gold labels of the texts it may be asked about,
and a seeded, deterministic decision to be wrong."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from policybench.service.datasets import iter_samples
from policybench.service.prompts import user_content


@dataclass(frozen=True, slots=True)
class Truth:
    labels: frozenset[str]
    unsafe: bool


class Knowledge:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._truth: dict[str, Truth] = {}

    def learn(self, paths: Iterable[str | Path]) -> None:
        for path in paths:
            for sample in iter_samples(path):
                labels = sample.labels if sample.labels is not None else frozenset()
                unsafe = bool(sample.unsafe) if sample.unsafe is not None else bool(labels)
                self._truth[user_content(sample)] = Truth(labels, unsafe)

    def __len__(self) -> int:
        return len(self._truth)

    def lookup(self, text: str) -> Truth | None:
        return self._truth.get(text)

    def draw(self, *parts: str) -> float:
        """A uniform number in [0, 1) fixed by the seed and ``parts`` (same question, same draw)."""
        h = hashlib.blake2b(digest_size=8)
        h.update(str(self.seed).encode())
        for part in parts:
            h.update(b"\x1f" + part.encode())
        return int.from_bytes(h.digest(), "big") / 2**64
