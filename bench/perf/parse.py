"""``bench perf parse``: each output format's worst parse time on adversarial answers.

Every format parses the same answers: shapes that made earlier parsers quadratic (a
million newlines, a label and a million spaces, runs of underscores, unclosed braces and
strings, repeated ``<think>`` tags and trailers, option lists, negations) and plain long
reasoning with the verdict at the end, each about :data:`SIZE` characters.  The figure
per format is the worst shape's median time over a few repetitions, beside the same
format's time on a 10 KB answer of the same shape, so the ratio shows whether the cost
grows with the answer's length (a bounded parser's ratio stays near 1).  Times are the
parsing thread's CPU time, so a loaded machine does not inflate them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from policybench.service.parsers import FORMATS, ParseContext, parse

SIZE = 1 << 20
SMALL = 10_000
TARGET_MS = 5.0
CATEGORIES = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")


def _fill(unit: str, size: int, end: str = "") -> str:
    return (unit * (size // len(unit) + 1))[: size - len(end)] + end


#: name -> answer of a given size
SHAPES: dict[str, Callable[[int], str]] = {
    "newlines + x": lambda n: _fill("\n", n, "x"),
    "SAFE + spaces + x": lambda n: "SAFE" + _fill(" ", n - 4, "x"),
    "VALID + spaces + x": lambda n: "VALID" + _fill(" ", n - 5, "x"),
    "Yes + spaces + x": lambda n: "Yes" + _fill(" ", n - 3, "x"),
    "1 + spaces + x": lambda n: "1" + _fill(" ", n - 1, "x"),
    "spaces + label": lambda n: _fill(" ", n, "VIOLATION"),
    "underscores": lambda n: "a" + _fill("_", n - 1, "x"),
    "open braces": lambda n: _fill("{", n),
    "unclosed string": lambda n: '{"violations": "' + _fill("x", n - 16),
    "quotes and braces": lambda n: _fill("{'a': '", n),
    "think tags": lambda n: _fill("<think>", n),
    "score tags": lambda n: _fill("<score> ", n),
    "Answers trailers": lambda n: _fill("Answers:\nRequest: ", n),
    "WildGuard lines": lambda n: _fill("Harmful request: ", n),
    "Safety lines": lambda n: _fill("Safety: \n", n),
    "option lists": lambda n: _fill("VIOLATION or SAFE / VALID or INVALID, Yes or No. ", n),
    "negations": lambda n: _fill("not NOT SAFE isn't ", n),
    "Llama Guard codes": lambda n: "unsafe\n" + _fill("S1,", n - 7),
    "colons": lambda n: _fill("Answer: ", n),
    "reasoning then verdict": lambda n: _fill(
        "The request asks for general information about a chemistry topic. ",
        n,
        '\n\nVerdict: VIOLATION\n{"violations": ["violence"]}',
    ),
}


def _time(text: str, fmt: str, ctx: ParseContext, repeat: int) -> float:
    """Median CPU seconds of ``repeat`` parses (CPU time, not wall time: on a shared
    machine the wall clock measures the neighbours)."""
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        parse(text, fmt, ctx)
        times.append(time.thread_time() - t0)
    return statistics.median(times)


def run_parse_bench(repeat: int = 5, size: int = SIZE) -> dict[str, Any]:
    ctx = ParseContext(CATEGORIES)
    large = {name: make(size) for name, make in SHAPES.items()}
    small = {name: make(SMALL) for name, make in SHAPES.items()}
    figures: dict[str, Any] = {"answer_chars": size, "shapes": len(SHAPES)}
    worst_overall = 0.0
    for fmt in FORMATS:
        times = {name: _time(text, fmt, ctx, repeat) for name, text in large.items()}
        shape = max(times, key=lambda k: times[k])
        worst = times[shape]
        small_time = _time(small[shape], fmt, ctx, repeat)
        worst_overall = max(worst_overall, worst)
        figures[f"{fmt} worst ms"] = worst * 1000
        figures[f"{fmt} worst shape"] = shape
        figures[f"{fmt} 1MB/10KB ratio"] = worst / small_time if small_time > 0 else 0.0
    figures["worst ms, all formats"] = worst_overall * 1000
    figures["target ms"] = TARGET_MS
    figures["all under target"] = worst_overall * 1000 < TARGET_MS
    return figures
