"""Synthetic datasets of any size for throughput and memory benchmarks (streamed to disk)."""

from __future__ import annotations

from pathlib import Path

import orjson

_CATS = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")
_TEXTS = (
    "Can you summarise the history of the printing press for a school project?",
    "Write a short poem about rain on a tin roof.",
    "My neighbour's dog barks all night; how do I raise it with them politely?",
    "What are common warning signs of a phishing email?",
)


def write_dataset(path: Path, n: int) -> Path:
    """``n`` samples, a quarter of them labelled with one category each."""
    with path.open("wb") as out:
        for i in range(n):
            labels = [_CATS[i % len(_CATS)]] if i % 4 == 0 else []
            text = f"{_TEXTS[i % len(_TEXTS)]} (item {i})"
            out.write(
                orjson.dumps({"id": f"p{i}", "text": text, "labels": labels, "source": "perf"})
            )
            out.write(b"\n")
    return path
