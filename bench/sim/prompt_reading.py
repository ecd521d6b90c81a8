"""How the simulated model reads a request: which categories it is asked about and in what form.

It reads the output-format section of the system prompt, as a model would, with its
own regular expressions (nothing imported from the client's prompt code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MULTI = re.compile(r"The ids are: ([A-Za-z0-9_\-, ]+)\.")
_SINGLE = re.compile(r'"policy_category": "([A-Za-z0-9_\-]+)"')


@dataclass(frozen=True, slots=True)
class Question:
    kind: str  # "multi", "single" or "unknown"
    categories: tuple[str, ...]


def read_question(system: str) -> Question:
    m = _MULTI.search(system)
    if m:
        cats = tuple(c.strip() for c in m.group(1).split(",") if c.strip())
        return Question("multi", cats)
    m = _SINGLE.search(system)
    if m:
        return Question("single", (m.group(1),))
    return Question("unknown", ())
