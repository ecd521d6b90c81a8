"""Rendering a policy set into system prompts, from the template files in ``policies/templates``.

Prompts are rendered once per run and reused byte for byte, so that a server's prefix
cache sees one shared prefix per policy (``gauntlet``) or for the whole set (``multi``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .datasets import Sample
from .errors import PolicyError
from .policies import Policy, PolicySet
from .resources import shipped


@cache
def _template(name: str) -> str:
    path = shipped("policies") / "templates" / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:  # pragma: no cover - a broken install
        raise PolicyError(path, f"cannot read prompt template: {exc}") from exc


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


@dataclass(frozen=True, slots=True)
class PromptOptions:
    chain_of_thought: bool = False


def _reasoning(options: PromptOptions) -> str:
    return _template("cot") if options.chain_of_thought else ""


def single_policy_prompt(policy: Policy, options: PromptOptions = PromptOptions()) -> str:
    """System prompt asking about one policy (a ``gauntlet`` request)."""
    return _fill(
        _template("single"),
        title=policy.title,
        category=policy.category,
        policy=policy.body,
        reasoning_instruction=_reasoning(options),
    )


def multi_policy_prompt(policies: PolicySet, options: PromptOptions = PromptOptions()) -> str:
    """System prompt carrying every policy of the set (a ``multi`` request)."""
    blocks = "\n".join(
        _fill(_template("policy_block"), title=p.title, category=p.category, policy=p.body)
        for p in policies.policies
    )
    return _fill(
        _template("multi"),
        policies=blocks,
        category_list=", ".join(policies.categories),
        reasoning_instruction=_reasoning(options),
    )


def user_content(sample: Sample) -> str:
    """The user message: the text, or the exchange when the sample has a response."""
    if sample.response is None:
        return sample.text
    return f"User request:\n{sample.text}\n\nAssistant response:\n{sample.response}"


def template_path(name: str) -> Path:
    return shipped("policies") / "templates" / f"{name}.md"
