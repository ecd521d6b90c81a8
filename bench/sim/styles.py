"""The answer styles real guard models use, rendered from a decided verdict.

Each style is a function ``(question, violated, draw) -> text``; ``draw`` is a seeded
uniform number used to vary the surface the way real models do (a code fence, a prefix,
markdown).  A style is chosen per request (:func:`choose_style`): an explicit ``--style``
first, then the model's name (Llama Guard, WildGuard, ...), then the output format the
prompt asks for.  Nothing here is shared with the client's parsers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

from .prompt_reading import Question

Style = Callable[[Question, frozenset[str], float], str]

#: Llama Guard 3 hazard codes for the shipped categories (harassment is nearest to S5).
LLAMA_GUARD_CODES = {
    "violence": "S1",
    "illegal": "S2",
    "sexual_minors": "S4",
    "harassment": "S5",
    "hate_speech": "S10",
    "self_harm": "S11",
}
QWEN_GUARD_NAMES = {
    "violence": "Violent",
    "illegal": "Non-violent Illegal Acts",
    "sexual_minors": "Sexual Content or Sexual Acts",
    "harassment": "Unethical Acts",
    "hate_speech": "Politically Sensitive Topics",
    "self_harm": "Suicide & Self-Harm",
}


def _json_object(q: Question, violated: frozenset[str], rationale: bool) -> dict[str, object]:
    if q.kind == "single":
        obj: dict[str, object] = {
            "violation": int(q.categories[0] in violated),
            "policy_category": q.categories[0],
        }
    else:
        obj = {"violations": [c for c in q.categories if c in violated]}
    if rationale:
        obj["rationale"] = (
            "The content meets the policy's definition of a violation."
            if violated
            else "The content does not meet any violation criteria."
        )
    return obj


def json_plain(q: Question, violated: frozenset[str], draw: float) -> str:
    return orjson.dumps(_json_object(q, violated, False)).decode()


def json_rationale(q: Question, violated: frozenset[str], draw: float) -> str:
    return orjson.dumps(_json_object(q, violated, True)).decode()


def json_fenced(q: Question, violated: frozenset[str], draw: float) -> str:
    body = orjson.dumps(_json_object(q, violated, draw < 0.5), option=orjson.OPT_INDENT_2)
    return f"```json\n{body.decode()}\n```"


def json_text(q: Question, violated: frozenset[str], draw: float) -> str:
    obj = orjson.dumps(_json_object(q, violated, False)).decode()
    return f"After checking the content against the policy, here is my answer:\n{obj}\nLet me know if you need more detail."


def json_mixed(q: Question, violated: frozenset[str], draw: float) -> str:
    """Mostly plain JSON; sometimes with a rationale, in a code fence or with text around."""
    if draw < 0.7:
        return json_plain(q, violated, draw)
    if draw < 0.8:
        return json_rationale(q, violated, draw)
    if draw < 0.9:
        return json_fenced(q, violated, (draw - 0.8) * 10)
    return json_text(q, violated, draw)


def binary(q: Question, violated: frozenset[str], draw: float) -> str:
    return "1" if violated else "0"


def violation_safe(q: Question, violated: frozenset[str], draw: float) -> str:
    word = "VIOLATION" if violated else "SAFE"
    return f"**{word}**" if draw < 0.2 else word


def valid_invalid(q: Question, violated: frozenset[str], draw: float) -> str:
    word = "INVALID" if violated else "VALID"
    if draw < 0.4:
        return word
    if draw < 0.6:
        return f"Answer: {word}"
    if draw < 0.8:
        return f"Answer (VALID or INVALID): {word}"
    return f"Classification: **{word}**"


def llamaguard(q: Question, violated: frozenset[str], draw: float) -> str:
    if not violated:
        return "safe"
    codes = sorted({LLAMA_GUARD_CODES.get(c, "S2") for c in violated}, key=lambda s: int(s[1:]))
    return "unsafe\n" + ",".join(codes)


def llamaguard_listed(q: Question, violated: frozenset[str], draw: float) -> str:
    """Llama Guard over the prompt's own category list: S<i> is the i-th listed."""
    if not violated:
        return "safe"
    codes = [f"S{i}" for i, c in enumerate(q.categories, start=1) if c in violated]
    return "unsafe\n" + ",".join(codes)


def wildguard(q: Question, violated: frozenset[str], draw: float) -> str:
    # the asked task's line carries the verdict; the other lines say what WildGuard
    # typically says alongside it
    yes = "yes" if violated else "no"
    if q.task == "response":
        refused = "no" if violated else "yes"
        return f"Harmful request: yes\nResponse refusal: {refused}\nHarmful response: {yes}"
    if q.task == "refusal":
        return f"Harmful request: yes\nResponse refusal: {yes}\nHarmful response: no"
    return f"Harmful request: {yes}\nResponse refusal: None\nHarmful response: None"


def guardreasoner(q: Question, violated: frozenset[str], draw: float) -> str:
    label = "harmful" if violated else "unharmful"
    if q.task == "response":
        completion = "compliance" if violated else "refusal"
        answers = f"Request: harmful\nCompletion: {completion}\nResponse: {label}"
    elif q.task == "refusal":
        completion = "refusal" if violated else "compliance"
        response = "unharmful" if violated else "harmful"
        answers = f"Request: harmful\nCompletion: {completion}\nResponse: {response}"
    elif draw < 0.5:
        # GuardReasoner's published prompt-only answers judge the empty response as a
        # harmless refusal: a client reading `Response:` would call every request safe
        completion = "refusal" if violated else "compliance"
        answers = f"Request: {label}\nCompletion: {completion}\nResponse: unharmful"
    else:
        answers = f"Request: {label}\nCompletion: None\nResponse: None"
    return (
        "# Task 1\n\n## Reasoning Step 1: Identify what the user's request asks for.\n"
        "## Reasoning Step 2: Compare it with the harm categories.\n"
        f"## Conclusion: The request is {label}.\n\n---\n\n"
        f"Answers: \n{answers}"
    )


def shieldgemma(q: Question, violated: frozenset[str], draw: float) -> str:
    return "Yes" if violated else "No"


def shieldgemma_explained(q: Question, violated: frozenset[str], draw: float) -> str:
    """ShieldGemma as its prompt asks: "Yes" or "No" first, then a step-by-step walk-through."""
    steps = (
        "Step 1: I read the human question and what it asks for. "
        "Step 2: I compare it with the principle, its wording and its intent. "
        "Step 3: I check whether a framing or a hypothetical changes what it does. "
    )
    return ("Yes" if violated else "No") + "\n\n" + steps * (2 + int(draw * 3))


def qwen3guard(q: Question, violated: frozenset[str], draw: float) -> str:
    if q.task == "refusal":
        return f"Safety: Safe\nCategories: None\nRefusal: {'Yes' if violated else 'No'}"
    if not violated:
        return "Safety: Safe\nCategories: None"
    names = ", ".join(sorted(QWEN_GUARD_NAMES.get(c, "Violent") for c in violated))
    return f"Safety: Unsafe\nCategories: {names}"


STYLES: dict[str, Style] = {
    "json": json_plain,
    "json-mixed": json_mixed,
    "json-plain": json_plain,
    "json-rationale": json_rationale,
    "json-fenced": json_fenced,
    "json-text": json_text,
    "binary": binary,
    "violation-safe": violation_safe,
    "valid-invalid": valid_invalid,
    "llamaguard": llamaguard,
    "llamaguard-listed": llamaguard_listed,
    "wildguard": wildguard,
    "guardreasoner": guardreasoner,
    "shieldgemma": shieldgemma,
    "shieldgemma-explained": shieldgemma_explained,
    "qwen3guard": qwen3guard,
}
#: ``auto``: choose by model name, then by the prompt's requested format.
STYLE_NAMES = ("auto", *STYLES)

_BY_MODEL = (
    (re.compile(r"llama[-_ ]?guard", re.I), "llamaguard"),
    (re.compile(r"wildguard", re.I), "wildguard"),
    (re.compile(r"guardreasoner", re.I), "guardreasoner"),
    (re.compile(r"shieldgemma|granite[-_ ]?guardian", re.I), "shieldgemma"),
    (re.compile(r"qwen3?[-_ ]?guard", re.I), "qwen3guard"),
)


def style_for_model(model: str) -> str | None:
    for pattern, name in _BY_MODEL:
        if pattern.search(model):
            return name
    return None


def choose_style(configured: str, model: str, question: Question) -> str:
    """The style name for one request."""
    if configured != "auto":
        return configured
    by_model = style_for_model(model)
    if by_model is not None:
        return by_model
    # a prompt asking for "one JSON object and nothing else" gets exactly that; the
    # looser surfaces (fences, text around) are ``json-mixed`` and its parts
    return question.requested_format or "json"
