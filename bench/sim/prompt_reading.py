"""How the simulated model reads a request: which categories it is asked about and in what form.

It reads the system prompt as a model would, with its own regular expressions (nothing
imported from the client's prompt code): the policy ids it lists, and the output format
it asks for (JSON, ``VIOLATION``/``SAFE``, ``VALID``/``INVALID``, a bare ``0``/``1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MULTI = re.compile(r"The ids are: ([A-Za-z0-9_\-, ]+)\.")
_SINGLE = re.compile(r'"policy_category": "([A-Za-z0-9_\-]+)"')
_HEADING = re.compile(r"^#+ Policy:.*\(`([A-Za-z0-9_\-]+)`\)", re.MULTILINE)
_FORMATS = (
    (re.compile(r'\{\s*"violations?"'), "json"),
    (re.compile(r"\bVALID\b.*\bINVALID\b|\bINVALID\b.*\bVALID\b", re.S), "valid-invalid"),
    (re.compile(r"\bVIOLATION\b.*\bSAFE\b|\bSAFE\b.*\bVIOLATION\b", re.S), "violation-safe"),
    (re.compile(r"(?:answer|respond|reply)[^.\n]*\b0\b[^.\n]*\b1\b", re.I), "binary"),
)


_TASKS = (
    (re.compile(r"whether the assistant's last reply refuses", re.I), "refusal"),
    (re.compile(r"judge only the assistant's last reply", re.I), "response"),
)


@dataclass(frozen=True, slots=True)
class Question:
    kind: str  # "multi", "single" or "unknown"
    categories: tuple[str, ...]
    #: The style the prompt's output-format section asks for, if it names one.
    requested_format: str | None = None
    #: The prompt asks for a verbalised "confidence" in the JSON answer.
    confidence: bool = False
    #: what the prompt asks to judge: "prompt", "response" or "refusal"
    task: str = "prompt"


def requested_task(system: str) -> str:
    for pattern, task in _TASKS:
        if pattern.search(system):
            return task
    return "prompt"


def requested_format(system: str) -> str | None:
    tail = system[system.rfind("Output format") :] if "Output format" in system else system
    for pattern, name in _FORMATS:
        if pattern.search(tail):
            return name
    return None


def read_question(system: str) -> Question:
    q = _read_question(system)
    if '"confidence"' in system:
        q = Question(q.kind, q.categories, q.requested_format, confidence=True, task=q.task)
    return q


def _read_question(system: str) -> Question:
    question = _read(system)
    task = requested_task(system)
    if task == "prompt":
        return question
    return Question(question.kind, question.categories, question.requested_format, task=task)


def _read(system: str) -> Question:
    fmt = requested_format(system)
    m = _MULTI.search(system)
    if m:
        cats = tuple(c.strip() for c in m.group(1).split(",") if c.strip())
        return Question("multi", cats, fmt)
    m = _SINGLE.search(system)
    if m:
        return Question("single", (m.group(1),), fmt)
    headings = _HEADING.findall(system)
    if len(headings) == 1:
        return Question("single", (headings[0],), fmt)
    if headings:
        return Question("multi", tuple(headings), fmt)
    return Question("unknown", (), fmt)
