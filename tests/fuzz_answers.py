"""Answers with no verdict word, for the fail-closed property tests.

Each piece below mixes a format's verdict words only as a negation (``NOT SAFE``), an
option list (``VALID or INVALID``), a quoted example (``The format is {"violations": []}``,
``e.g. "No"``) or a definition (``SAFE means ...``); other pieces are prose, markdown,
reasoning scaffolding, keys without values and the *positive* labels of every format
(which may make an answer a violation, never safe).  The only category named is
``violence``, the one-policy contexts' target: naming another would be a verdict (the
target is not violated).  Joined with separators, no
combination states that the content is safe, so no parser may read one as safe.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

#: Per format family: that family's verdict words, never stated as the answer.
NO_VERDICT: dict[str, tuple[str, ...]] = {
    "violation_safe": (
        "NOT SAFE",
        "not SAFE",
        "This content is NOT SAFE.",
        "I would not call this SAFE",
        "It isn't SAFE",
        "never SAFE",
        "SAFE or VIOLATION",
        "VIOLATION or SAFE",
        "VIOLATION/SAFE",
        "(SAFE | VIOLATION)",
        "either SAFE or not",
        'e.g. "SAFE"',
        "for example SAFE",
        "respond with SAFE if it is fine",
        "SAFE means no rule applies",
        'The label "SAFE" is for benign text.',
        "Safe to say",
        "SAFE or UNSAFE",
    ),
    "valid_invalid": (
        "NOT VALID",
        "not VALID",
        "The answer is not VALID.",
        "VALID or INVALID",
        "VALID or INVALID:",
        "INVALID/VALID",
        "Answer (VALID or INVALID):",
        'e.g. "VALID"',
        "such as VALID",
        "VALID means the content complies",
        "Valid concerns aside",
        "It wouldn't be VALID",
    ),
    "binary": (
        "0 or 1",
        "0/1",
        "1 or 0",
        "Answer: 0.93",
        "Rating: 0.9 (very likely violating)",
        "0.07",
        "0.5",
        "Score: 0.12",
        "e.g. 0",
        "for example 0",
        "0 means no violation",
        "1. First point",
        "2. Second point",
        "10",
        "100%",
        "Step 0:",
    ),
    "yes_no": (
        "Yes or No",
        "Yes/No",
        "(Yes/No)",
        "No or Yes?",
        'e.g. "No"',
        "respond with No if it complies",
        "No doubt about it",
        "No means the content complies",
        "Answer with Yes or No.",
        "<think>No, wait.</think>",
        "<score>",
        "<think>",
    ),
    "llama_guard": (
        "not safe",
        "safe or unsafe",
        "safe/unsafe",
        "Safe? No: unsafe",
        "e.g. safe",
        "Is it safe?",
        "Safety assessment:",
        "The request seems safe to answer",
    ),
    "wildguard": (
        "Harmful request: yes/no",
        "Harmful request: no or yes",
        "Harmful request: N/A",
        "Harmful response: N/A",
        "Response refusal: N/A",
        "Harmful request: not sure",
        "e.g. Harmful request: no",
        "Harmful request:",
        "Harmful response: None",
    ),
    "guardreasoner": (
        "Answers:",
        "Answers: \n",
        "Request: harmful or unharmful",
        "Request: unharmful/harmful",
        "e.g. Request: unharmful",
        "Completion: None",
        "Response: None",
        "Request: None",
        "Request: ambiguous",
        "Response unharmful",
        "## Reasoning Step 1",
        "# Task 1",
        "The request is unharmful? Not quite.",
    ),
    "qwen3guard": (
        "Safety: Safe or Unsafe",
        "Safety: Safe/Unsafe/Controversial",
        "Safety: not Safe",
        "e.g. Safety: Safe",
        "Safety:",
        "Categories: None",
        "Categories:",
        "Refusal: Yes or No",
    ),
    "json": (
        'The format is {"violations": []}.',
        'e.g. {"violations": []}',
        'For example: {"violation": 0}',
        'The format is:\n```json\n{"violations": []}\n```',
        'An example: {"hate_speech": 0, "violence": 0}',
        'The schema is {"violations": ["..."]}',
        '{"violations": ""}',
        '{"violations": [""]}',
        '{"violation": 0.3}',
        '{"violation": "maybe"}',
        '{"rationale": "no policy applies"}',
        '{"violations": ["weapons"]}',
        "{",
        "}",
        "```json",
        "```",
    ),
    "policy_report": (
        "**Violated Policies:**",
        "Violated Policies: (list them here)",
        "Violated Policies: [astrology]",
        "Violated Policies: e.g. none",
        "**Violated Policies:** [unknown-policy]",
    ),
}

#: Positive verdicts of every family: they may make an answer a violation, never safe.
POSITIVE = (
    "VIOLATION",
    "INVALID",
    "Verdict: VIOLATION",
    "1",
    "Yes",
    "unsafe\nS1",
    "unsafe",
    "Harmful request: yes",
    "Answers:\nRequest: harmful",
    "Safety: Unsafe\nCategories: Violent",
    '{"violations": ["violence"]}',
    "**Violated Policies:** [violence]",
    "<score> yes </score>",
)

FILLER = (
    "The content describes a protest.",
    "Let me think about this carefully.",
    "The policy is clear here.",
    "Reasoning:",
    "Answer:",
    "Verdict:",
    "Classification:",
    "Final answer:",
    "**",
    "`",
    "---",
    "#",
    "> quoted text",
    "(DE3)",
    "violence",
    "Step 1: read the policy.",
    "\u00a0",
    "…",
    "It is hard to say.",
    "The user asks about history.",
)

SEPARATORS = (" ", "\n", "\n\n", ". ", ", ", ": ", "\n- ", " **", "** ")

#: Which family's pieces each format is fuzzed with.
FAMILY_OF_FORMAT = {
    "violation_safe": "violation_safe",
    "valid_invalid": "valid_invalid",
    "binary": "binary",
    "yes_no": "yes_no",
    "shieldgemma": "yes_no",
    "granite_guardian": "yes_no",
    "llama_guard": "llama_guard",
    "llama_guard1": "llama_guard",
    "llama_guard2": "llama_guard",
    "llama_guard3": "llama_guard",
    "llama_guard4": "llama_guard",
    "llama_guard_policy": "llama_guard",
    "wildguard": "wildguard",
    "wildguard_request": "wildguard",
    "wildguard_response": "wildguard",
    "guardreasoner": "guardreasoner",
    "qwen3guard": "qwen3guard",
    "qwen3guard_loose": "qwen3guard",
    "json": "json",
    "policy_report": "policy_report",
}

#: Every family's non-verdict pieces: a format is also fuzzed with the others' words.
ALL_NO_VERDICT = tuple(p for pieces in NO_VERDICT.values() for p in pieces)


def pieces_for(fmt: str) -> tuple[str, ...]:
    own = NO_VERDICT[FAMILY_OF_FORMAT[fmt]]
    # The format's own pieces weigh most, so the answers look almost right for it.
    return own * 4 + ALL_NO_VERDICT + POSITIVE + FILLER


def generate(seed: int, count: int, formats: list[str]) -> Iterator[tuple[str, str]]:
    """``count`` ``(format, answer)`` pairs, the same for the same seed."""
    rng = random.Random(seed)
    table = {fmt: pieces_for(fmt) for fmt in formats}
    for i in range(count):
        fmt = formats[i % len(formats)]
        pieces = table[fmt]
        parts = [rng.choice(pieces)]
        for _ in range(rng.randrange(0, 7)):
            parts.append(rng.choice(SEPARATORS))
            parts.append(rng.choice(pieces))
        yield fmt, "".join(parts)
