"""Client-side chat templates, for servers that take a batch only as a ``prompt`` list.

``/v1/completions`` applies no template, so the client renders each conversation itself
from a template file (``policies/templates/chat/<name>.txt`` or a user's own file) with
the placeholders ``{{system}}``, ``{{user}}``, ``{{reasoning_effort}}`` and ``{{date}}``.
For gpt-oss the shipped ``harmony`` template writes the Harmony format (the caller's
system prompt becomes the developer message's instructions, the reasoning effort goes
into the system message) and its output is split into the ``analysis`` channel
(reasoning) and the ``final`` channel (the answer); the server must be asked for
``skip_special_tokens: false`` so the channel markers survive.  Other templates' output
is the answer as it is.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .resources import shipped

_FINAL = re.compile(r"<\|channel\|>final<\|message\|>(.*?)(?:<\|return\|>|<\|end\|>|$)", re.S)
_ANALYSIS = re.compile(r"<\|channel\|>analysis<\|message\|>(.*?)(?:<\|end\|>|$)", re.S)


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    name: str
    text: str
    harmony: bool
    #: Fixed when the template is loaded, so a run that crosses midnight keeps one
    #: byte-identical prefix (and the server's prefix cache) for its whole length.
    date: str = ""

    @property
    def extra_body(self) -> dict[str, object]:
        return {"skip_special_tokens": False} if self.harmony else {}

    def render(self, system: str, user: str, reasoning_effort: str | None) -> str:
        return (
            self.text.replace("{{system}}", system)
            .replace("{{user}}", user)
            .replace("{{reasoning_effort}}", reasoning_effort or "medium")
            .replace("{{date}}", self.date or time.strftime("%Y-%m-%d"))
        )

    def split_output(self, text: str) -> tuple[str | None, str | None]:
        """``(content, reasoning)`` of a completion; ``content`` is ``None`` without a final answer."""
        if not self.harmony:
            return text.strip(), None
        final = _FINAL.search(text)
        analysis = _ANALYSIS.search(text)
        reasoning = analysis.group(1).strip() if analysis else None
        return (final.group(1).strip() if final else None), reasoning


#: Templates shipped in ``policies/templates/chat/``, named without their ``.txt``.
SHIPPED_CHAT_TEMPLATES = frozenset({"harmony", "generic"})


def load_chat_template(spec: str) -> ChatTemplate:
    """A shipped template by name (``harmony``, ``generic``) or a template file's path."""
    shipped_path = shipped("policies") / "templates" / "chat" / f"{spec}.txt"
    path = shipped_path if shipped_path.is_file() else Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            "chat-template", f"{spec}: not a shipped template (harmony, generic) or a readable file"
        ) from exc
    if "{{user}}" not in text:
        raise ConfigError("chat-template", f"{path}: the template has no {{{{user}}}} placeholder")
    return ChatTemplate(
        name=path.stem,
        text=text,
        harmony="<|channel|>" in text or "<|start|>" in text,
        date=time.strftime("%Y-%m-%d"),
    )
