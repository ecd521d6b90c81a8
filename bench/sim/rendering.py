"""What the simulated server sees as tokens: the chat template it renders, and its blocks.

Token counts and prefix-cache blocks come from the rendered prompt text (four characters
a token, ``block_size`` tokens a block, each block's hash chained to its parent's as in
vLLM), so a byte-identical policy prompt shared by many requests is a shared prefix,
and a different ``reasoning_effort`` (which sits in gpt-oss's Harmony system message,
before the policy) is not.  For ``/v1/completions`` the client has rendered the template
itself: :func:`split_rendered` finds the system and user turns in the common templates.
"""

from __future__ import annotations

import re

CHARS_PER_TOKEN = 4

_HARMONY_SYSTEM = (
    "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\nCurrent date: 2026-11-26\n\nReasoning: {effort}\n\n"
    "# Valid channels: analysis, commentary, final. Channel must be included for every "
    "message.<|end|>"
)


def render_chat(system: str, user: str, effort: str | None, harmony: bool) -> str:
    """The prompt as the server's chat template renders it."""
    if harmony:
        return (
            _HARMONY_SYSTEM.format(effort=effort or "medium")
            + f"<|start|>developer<|message|># Instructions\n\n{system}<|end|>"
            + f"<|start|>user<|message|>{user}<|end|><|start|>assistant"
        )
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def render_output(reasoning: str | None, content: str | None, skip_special_tokens: bool) -> str:
    """A reasoning model's raw completion text, as ``/v1/completions`` returns it."""
    if reasoning is None:
        return content or ""
    if skip_special_tokens:  # the special tokens vanish and the channel names leak
        return f"analysis{reasoning}assistantfinal{content or ''}"
    text = f"<|channel|>analysis<|message|>{reasoning}<|end|>"
    if content is not None:
        text += f"<|start|>assistant<|channel|>final<|message|>{content}<|return|>"
    return text


def count_tokens(text: str) -> int:
    return max(1, len(text) // CHARS_PER_TOKEN)


def block_hashes(text: str, block_size: int) -> tuple[int, ...]:
    """Chained hashes of the prompt's full blocks."""
    width = block_size * CHARS_PER_TOKEN
    out: list[int] = []
    parent = 0
    for start in range(0, len(text) - width + 1, width):
        parent = hash((parent, text[start : start + width]))
        out.append(parent)
    return tuple(out)


_TURNS = (
    (
        re.compile(r"<\|start\|>developer<\|message\|>(?:# Instructions\n\n)?(.*?)<\|end\|>", re.S),
        re.compile(r"<\|start\|>user<\|message\|>(.*?)<\|end\|>", re.S),
    ),
    (
        re.compile(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", re.S),
        re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.S),
    ),
    (
        re.compile(r"<\|start_header_id\|>system<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.S),
        re.compile(r"<\|start_header_id\|>user<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.S),
    ),
)


def split_rendered(prompt: str) -> tuple[str, str]:
    """``(system, user)`` of a prompt rendered by the client; the whole text if unknown."""
    for system_re, user_re in _TURNS:
        users = user_re.findall(prompt)
        if users:
            systems = system_re.findall(prompt)
            return (systems[-1] if systems else ""), users[-1]
    return prompt, prompt
