"""What the simulated model "knows": the gold labels of the texts it may be asked about, per
task (the request's harm, the response's harm, whether the response refused), and a seeded,
deterministic decision to be wrong.

A request is known by what follows its system prompt: one user message by its text, a
conversation of role turns by :func:`turns_key`, and a conversation rendered by a
client-side template by its transcript; every form a client may send is learnt."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from policybench.service.client_types import transcript
from policybench.service.datasets import Sample, iter_samples
from policybench.service.prompts import conversation
from policybench.service.tasks import Task

TASK_NAMES = tuple(str(t) for t in Task)


def turns_key(turns: Iterable[tuple[str, str]]) -> str:
    """A conversation's key: a lone user message is its text, role turns are joined."""
    turns = tuple(turns)
    if len(turns) == 1 and turns[0][0] == "user":
        return turns[0][1]
    return "\x1e".join(f"{role}\x1f{content}" for role, content in turns)


def _truth(sample: Sample, task: str) -> Truth | None:
    if task == "prompt":
        if sample.labels is None and sample.unsafe is None:
            return None
        labels = sample.labels if sample.labels is not None else frozenset()
        unsafe = bool(sample.unsafe) if sample.unsafe is not None else bool(labels)
        return Truth(labels, unsafe)
    if task == "response":
        if sample.response_unsafe is None:
            return None
        return Truth(sample.response_labels or frozenset(), sample.response_unsafe)
    if sample.refusal is None:
        return None
    return Truth(frozenset(), sample.refusal)


@dataclass(frozen=True, slots=True)
class Truth:
    labels: frozenset[str]
    unsafe: bool


class Knowledge:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._truth: dict[tuple[str, str], Truth] = {}

    def learn(self, paths: Iterable[str | Path]) -> None:
        for path in paths:
            for sample in iter_samples(path):
                for task in Task:
                    truth = _truth(sample, task)
                    if truth is None:
                        continue
                    asked = conversation(sample, task)
                    turns = (("user", asked),) if isinstance(asked, str) else asked
                    self._truth[(task, turns_key(turns))] = truth
                    self._truth[(task, transcript(asked))] = truth

    def __len__(self) -> int:
        return len({key for _, key in self._truth})

    def lookup(self, text: str, task: str = "prompt") -> Truth | None:
        return self._truth.get((task, text))

    def draw(self, *parts: str) -> float:
        """A uniform number in [0, 1) fixed by the seed and ``parts`` (same question, same draw)."""
        h = hashlib.blake2b(digest_size=8)
        h.update(str(self.seed).encode())
        for part in parts:
            h.update(b"\x1f" + part.encode())
        return int.from_bytes(h.digest(), "big") / 2**64
