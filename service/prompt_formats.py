"""Native prompt formats: a guard model family's own input, as data (``policies/formats/native/``).

A guard model is trained on one input format and answers in one output format; sending
it the generic "system policy + user content" chat loses what it was trained on.  A
format file (TOML, one per family; a user adds a family with one more file) says:

* ``models``: a regular expression on the model's name (``--prompt-format auto`` picks the
  first file whose pattern matches); ``source``: the model card or code it follows;
* ``route``: ``completions`` (the client renders the whole prompt, special tokens
  included, from ``[prompt]``) or ``chat`` (``[[messages]]`` templated per request, the
  server's chat template does the rest, ``[chat_template_kwargs]`` per request);
* ``parser``: the output format the answer is read in (a name of ``service/parsers``);
* ``per_policy``: one request per policy (ShieldGemma, Granite Guardian); otherwise the
  run's strategy decides (``multi``: every policy in one request);
* ``[score]``: the verdict token for ``--scores logprobs`` (see :mod:`.scores`);
* ``[request]``: constant fields added to every request (``add_special_tokens``, ...).

Templates use ``{{name}}`` placeholders, filled in one pass (a sample's text that
contains ``{{...}}`` is never expanded): ``prompt`` and ``response`` (the sample's
turns; ``response`` is ``no_response`` without one), ``content`` (what policybench's own
prompt puts in the user message: the text, or the exchange when there is a response), ``role`` (whose turn is judged:
``user_role`` or ``assistant_role``), ``conversation`` (the turns, each rendered by
``turn``), ``categories`` (every policy of the request, each rendered by ``category``
with ``code`` = ``code_prefix`` + its position, ``title``, ``category`` and ``policy``),
those four of a one-policy request, ``policy_prompt`` (policybench's own system
prompt for the request's policies) and ``reasoning_effort``.  A placeholder no format
knows is an error naming the file, found before any request.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, PolicyError
from .resources import shipped
from .scores import ScoreRule

PLACEHOLDERS = frozenset(
    {
        "prompt",
        "response",
        "content",
        "role",
        "conversation",
        "categories",
        "code",
        "title",
        "category",
        "policy",
        "policy_prompt",
        "reasoning_effort",
    }
)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with every ``{{name}}`` replaced, in one pass (values are not rescanned)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def fill_any(value: Any, values: Mapping[str, str]) -> Any:
    """:func:`fill` over the strings of a nested TOML value (``chat_template_kwargs``)."""
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, dict):
        return {k: fill_any(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_any(v, values) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    role: str
    content: str
    #: Sent only when the sample has an assistant response (the judged answer).
    with_response: bool = False


@dataclass(frozen=True, slots=True)
class PromptFormat:
    name: str
    path: str
    description: str
    source: str
    models: re.Pattern[str] | None
    route: Literal["chat", "completions"]
    parser: str
    per_policy: bool
    score: ScoreRule | None
    request: Mapping[str, Any]
    text: str = ""
    response_text: str = ""
    no_response: str = ""
    category: str = "{{code}}: {{title}}."
    category_separator: str = "\n"
    code_prefix: str = "S"
    turn: str = "{{role}}: {{content}}"
    turn_separator: str = "\n\n"
    user_role: str = "User"
    assistant_role: str = "Agent"
    messages: tuple[MessageTemplate, ...] = ()
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    reasoning_effort: str | None = None


def _root() -> Path:
    return shipped("policies") / "formats" / "native"


def _strings(path: Path, obj: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(obj, str):
        return [(where, obj)]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in _strings(path, v, f"{where}.{k}")]
    if isinstance(obj, list):
        return [s for i, v in enumerate(obj) for s in _strings(path, v, f"{where}[{i}]")]
    return []


def load_format_file(path: Path) -> PromptFormat:
    """Read and validate one format file; :class:`PolicyError` names the file and field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(str(path), f"cannot read prompt format: {exc}") from exc
    from .parsers import FORMATS

    def need(key: str, kind: type) -> Any:
        if not isinstance(raw.get(key), kind):
            raise PolicyError(str(path), f"{key}: required ({kind.__name__})")
        return raw[key]

    route = need("route", str)
    if route not in ("chat", "completions"):
        raise PolicyError(str(path), f"route: {route!r} is not 'chat' or 'completions'")
    parser = need("parser", str)
    if parser not in FORMATS:
        raise PolicyError(str(path), f"parser: {parser!r} is not a known output format")
    prompt = raw.get("prompt") or {}
    messages = tuple(
        MessageTemplate(
            str(m.get("role", "")), str(m.get("content", "")), bool(m.get("with_response"))
        )
        for m in raw.get("messages") or ()
    )
    if route == "completions" and not prompt.get("text"):
        raise PolicyError(str(path), "prompt.text: required for route 'completions'")
    if route == "chat" and not messages:
        raise PolicyError(str(path), "messages: required for route 'chat'")
    for where, text in _strings(path, {"prompt": prompt, "messages": raw.get("messages")}, ""):
        for name in _PLACEHOLDER.findall(text):
            if name not in PLACEHOLDERS:
                raise PolicyError(
                    str(path), f"{where.lstrip('.')}: unknown placeholder {{{{{name}}}}}"
                )
    score = raw.get("score")
    rule = None
    if isinstance(score, dict):
        rule = ScoreRule(
            positive=tuple(score.get("positive") or ()),
            negative=tuple(score.get("negative") or ()),
            after=str(score.get("after") or ""),
            response_after=score.get("response_after"),
            verdict_tokens=score.get("verdict_tokens"),
            complete=bool(score.get("complete")),
        )
        if not rule.positive or not rule.negative:
            raise PolicyError(str(path), "score: positive and negative words are required")
    pattern = raw.get("models")
    try:
        models = re.compile(pattern, re.IGNORECASE) if pattern else None
    except re.error as exc:
        raise PolicyError(str(path), f"models: not a regular expression: {exc}") from exc
    keys = ("no_response", "category", "category_separator", "code_prefix", "turn")
    extra = {
        k: str(prompt[k])
        for k in (*keys, "turn_separator", "user_role", "assistant_role")
        if k in prompt
    }
    return PromptFormat(
        name=str(raw.get("name") or path.stem),
        path=str(path),
        description=str(raw.get("description") or ""),
        source=need("source", str),
        models=models,
        route=route,
        parser=parser,
        per_policy=bool(raw.get("per_policy")),
        score=rule,
        request=dict(raw.get("request") or {}),
        text=str(prompt.get("text") or ""),
        response_text=str(prompt.get("response_text") or ""),
        messages=messages,
        chat_template_kwargs=dict(raw.get("chat_template_kwargs") or {}),
        reasoning_effort=raw.get("reasoning_effort"),
        **extra,
    )


@cache
def shipped_formats() -> tuple[PromptFormat, ...]:
    return tuple(load_format_file(p) for p in sorted(_root().glob("*.toml")))


def resolve_format(spec: str | None, model: str | None) -> PromptFormat | None:
    """The format ``--prompt-format`` names: ``None`` (the generic prompt), ``auto`` (by the
    model's name, else the generic prompt), a shipped name, or a format file's path."""
    if spec is None:
        return None
    formats = shipped_formats()
    if spec == "auto":
        return next((f for f in formats if f.models and model and f.models.search(model)), None)
    for f in formats:
        if f.name == spec:
            return f
    path = Path(spec)
    if path.suffix == ".toml" and path.is_file():
        return load_format_file(path)
    names = ", ".join(f.name for f in formats)
    raise ConfigError(
        "prompt-format", f"{spec!r}: not auto, a shipped format ({names}) or a .toml file"
    )


def names() -> Sequence[str]:
    return [f.name for f in shipped_formats()]
