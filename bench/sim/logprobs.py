"""Logprobs the simulated model returns: consistent with its answer, with a seeded class
separation.

The verdict token (where each answer style puts its verdict, known here from the style
itself: nothing is shared with the client's score reader) carries the answered word and
the other reading as its top alternatives.  The answered word is always the more likely
one, so the logprobs agree with the text.  How sure the model is comes from a seeded
draw: a margin ``m >= 0`` in logits, ``|N(separation, 1)|`` for a right answer and
``|N(0, 1)|`` for a wrong one, so wrong answers are less confident than right ones and
a larger ``separation`` ranks better (higher AUPRC at the same accuracy).  Every other
token is certain (logprob 0).
"""

from __future__ import annotations

import math
import re
from statistics import NormalDist
from typing import Any

#: style -> (label before the verdict or "" for the first word, unsafe word, safe word)
VERDICTS: dict[str, tuple[str, str, str]] = {
    "llamaguard": ("", "unsafe", "safe"),
    "llamaguard-listed": ("", "unsafe", "safe"),
    "shieldgemma": ("", "Yes", "No"),
    "shieldgemma-explained": ("", "Yes", "No"),
    "binary": ("", "1", "0"),
    "wildguard": ("Harmful request:", "yes", "no"),
    "qwen3guard": ("Safety:", "Unsafe", "Safe"),
    "guardreasoner": ("Request:", "harmful", "unharmful"),
    "violation-safe": ("", "VIOLATION", "SAFE"),
    "valid-invalid": ("", "INVALID", "VALID"),
}
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")
_NORMAL = NormalDist()


def margin(u: float, correct: bool, separation: float) -> float:
    """The verdict's logit margin from a uniform draw ``u``."""
    z = _NORMAL.inv_cdf(min(max(u, 1e-9), 1 - 1e-9))
    return abs(z + (separation if correct else 0.0))


def confidence(u: float, correct: bool, separation: float) -> float:
    """The probability of the answered reading (0.5-1), as a verbalised confidence."""
    return 1.0 / (1.0 + math.exp(-margin(u, correct, separation)))


def with_confidence(content: str, value: float) -> str:
    """A JSON answer with a ``"confidence"`` key added to its (last) object."""
    end = content.rfind("}")
    if end < 0:
        return content
    body = content[:end].rstrip()
    sep = "" if body.endswith("{") else ", "
    return f'{body}{sep}"confidence": {value:.3f}' + content[end:]


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _verdict_index(pieces: list[str], style: str) -> tuple[int, str] | None:
    spec = VERDICTS.get(style)
    if spec is None:
        return None
    label, unsafe, safe = spec
    start = 0
    if label:
        text = "".join(pieces)
        at = text.find(label)
        if at < 0:
            return None
        end, pos = at + len(label), 0
        for i, piece in enumerate(pieces):
            pos += len(piece)
            if pos >= end:
                start = i + 1
                break
    for i in range(start, len(pieces)):
        word = pieces[i].strip().strip("*")
        if word in (unsafe, safe):
            return i, (safe if word == unsafe else unsafe)
    return None


def chat_logprobs(
    text: str, style: str, u: float, correct: bool, separation: float, top: int
) -> dict[str, Any]:
    """``choices[0].logprobs`` of a chat completion for ``text``."""
    pieces = tokens(text)
    found = _verdict_index(pieces, style)
    p = confidence(u, correct, separation)
    content = []
    for i, piece in enumerate(pieces):
        entry: dict[str, Any] = {"token": piece, "logprob": 0.0, "bytes": list(piece.encode())}
        alternatives = [{"token": piece, "logprob": 0.0, "bytes": list(piece.encode())}]
        if found is not None and i == found[0]:
            lead = piece[: len(piece) - len(piece.lstrip())]
            other = lead + found[1]
            entry["logprob"] = math.log(p)
            alternatives = [
                {"token": piece, "logprob": math.log(p), "bytes": list(piece.encode())},
                {"token": other, "logprob": math.log(1 - p), "bytes": list(other.encode())},
            ]
        entry["top_logprobs"] = alternatives[:top]
        content.append(entry)
    return {"content": content}


def completion_logprobs(
    text: str, style: str, u: float, correct: bool, separation: float, top: int
) -> dict[str, Any]:
    """``choices[i].logprobs`` of a text completion for ``text``."""
    chat = chat_logprobs(text, style, u, correct, separation, top)["content"]
    offsets, pos = [], 0
    for entry in chat:
        offsets.append(pos)
        pos += len(entry["token"])
    return {
        "tokens": [e["token"] for e in chat],
        "token_logprobs": [e["logprob"] for e in chat],
        "top_logprobs": [{t["token"]: t["logprob"] for t in e["top_logprobs"]} for e in chat],
        "text_offset": offsets,
    }
