"""How the simulated model reads guard models' native prompts (its own reading, nothing
imported from the client's prompt code).

A native prompt is recognised by its family's fixed wording: Llama Guard's category
block, WildGuard's and GuardReasoner's instructions, ShieldGemma's "policy expert"
preamble; a chat request by Granite Guardian's ``guardian_config`` or, with no system
message, by the model's name (Qwen3Guard).  From it the simulator takes what it needs:
the text it is asked about (to look up its gold labels), the answer style, and the
policies asked about.  A policy is named by a title ("Hate speech"), not an id: it is
matched to a gold category when the category id's first word starts the title's
(``hate_speech`` ~ "Hate speech", ``illegal`` ~ "Illegal activity"), as a model would
read a name; families that list no policies are asked one binary question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .knowledge import Knowledge
from .prompt_reading import Question


@dataclass(frozen=True, slots=True)
class NativeQuestion:
    key: str  # the text as the knowledge base knows it
    question: Question
    style: str


def _key(prompt: str, response: str | None) -> str:
    if response is None:
        return prompt
    return f"User request:\n{prompt}\n\nAssistant response:\n{response}"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def _ids(titles: list[str], knowledge: Knowledge, key: str) -> tuple[str, ...]:
    """Category ids for policy titles: the gold label the title names, else its slug."""
    truth = knowledge.lookup(key)
    labels = sorted(truth.labels) if truth is not None else []
    out = []
    for title in titles:
        slug = _slug(title)
        match = next((c for c in labels if slug.startswith(c.split("_")[0])), None)
        out.append(match or slug)
    return tuple(out)


def _between(text: str, start: str, end: str) -> str | None:
    i = text.find(start)
    if i < 0:
        return None
    i += len(start)
    j = text.find(end, i)
    return text[i:j] if j >= 0 else None


_LG_CATEGORY = re.compile(r"^S(\d+): (.+?)\.?$", re.MULTILINE)


def _llama_guard(text: str, knowledge: Knowledge) -> NativeQuestion | None:
    block = _between(
        text, "<BEGIN UNSAFE CONTENT CATEGORIES>\n", "\n<END UNSAFE CONTENT CATEGORIES>"
    )
    conversation = _between(text, "<BEGIN CONVERSATION>\n\n", "\n\n<END CONVERSATION>")
    if block is None or conversation is None or not conversation.startswith("User: "):
        return None
    body = conversation[len("User: ") :]
    prompt, sep, response = body.partition("\n\nAgent: ")
    key = _key(prompt, response if sep else None)
    titles = [m.group(2) for m in _LG_CATEGORY.finditer(block)]
    ids = _ids(titles, knowledge, key)
    kind = "single" if len(ids) == 1 else "multi"
    return NativeQuestion(key, Question(kind, ids), "llamaguard-listed")


def _exchange(text: str, end: str, none: str) -> str | None:
    """The knowledge key of a "Human user: ... AI assistant: ..." exchange."""
    head = "Human user:\n"
    i = text.find(head)
    if i < 0:
        return None
    body = text[i + len(head) :]
    j = body.rfind(end) if end else len(body)
    prompt, sep, response = body[: j if j >= 0 else len(body)].partition("\n\nAI assistant:\n")
    if not sep:
        return None
    response = response.rstrip("\n") if not end else response
    return _key(prompt, None if response == none else response)


def _shieldgemma(text: str, knowledge: Knowledge) -> NativeQuestion | None:
    prompt = _between(text, "Human Question: ", "\n<end_of_turn>")
    title = _between(text, '* "', '": ')
    if prompt is None or title is None:
        return None
    response = _between(text, "Chatbot Response: ", "\n<end_of_turn>")
    key = _key(prompt, response)
    ids = _ids([title], knowledge, key)
    return NativeQuestion(key, Question("single", ids), "shieldgemma-explained")


def read_completion(text: str, knowledge: Knowledge) -> NativeQuestion | None:
    """A native prompt sent to ``/v1/completions``, or ``None`` if none is recognised."""
    if "<BEGIN UNSAFE CONTENT CATEGORIES>" in text:
        return _llama_guard(text, knowledge)
    if "You are a classifier for analyzing interactions between humans and LLMs" in text:
        key = _exchange(text, "\n\n---\n\nAnswers:", "")
        return None if key is None else NativeQuestion(key, Question("binary", ()), "wildguard")
    if "You are a classifier for analyzing interactions between humans and AI" in text:
        key = _exchange(text, "", "None")
        return None if key is None else NativeQuestion(key, Question("binary", ()), "guardreasoner")
    if text.startswith("You are a policy expert trying to help determine"):
        return _shieldgemma(text, knowledge)
    return None


def read_chat(
    messages: list[dict[str, Any]], body: dict[str, Any], model: str, knowledge: Knowledge
) -> NativeQuestion | None:
    """A native chat request (no system prompt): Granite Guardian's or Qwen3Guard's."""
    if any(m.get("role") in ("system", "developer") for m in messages):
        return None
    turns = [m.get("content") for m in messages]
    if not turns or not all(isinstance(t, str) for t in turns):
        return None
    prompt = str(turns[0])
    response = str(turns[1]) if len(turns) > 1 else None
    key = _key(prompt, response)
    kwargs = body.get("chat_template_kwargs")
    config = kwargs.get("guardian_config") if isinstance(kwargs, dict) else None
    if isinstance(config, dict) and isinstance(config.get("risk_name"), str):
        ids = _ids([config["risk_name"]], knowledge, key)
        return NativeQuestion(key, Question("single", ids), "shieldgemma")
    if re.search(r"qwen3?[-_ ]?guard", model, re.IGNORECASE):
        return NativeQuestion(key, Question("binary", ()), "qwen3guard")
    return None
