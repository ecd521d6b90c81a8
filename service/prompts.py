"""Rendering a policy set into system prompts, from the template files in ``policies/templates``.

Prompts are rendered once per run and reused byte for byte, so that a server's prefix
cache sees one shared prefix per policy (``gauntlet``) or for the whole set (``multi``).

The output-format section is chosen by the format the answers will be parsed in
(``templates/output/<single|multi>_<format>.md``): a prompt asks for exactly what the
parser expects.  A format with no shipped section (a guard model's own, such as Llama
Guard's) gets none: such models answer in their trained format whatever the prompt says.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .client_types import Conversation, UserInput
from .datasets import Sample
from .errors import PolicyError
from .policies import Policy, PolicySet
from .resources import shipped
from .tasks import Task


@cache
def _template(name: str) -> str:
    path = shipped("policies") / "templates" / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:  # pragma: no cover - a broken install
        raise PolicyError(path, f"cannot read prompt template: {exc}") from exc


@cache
def _output_section(kind: str, fmt: str) -> str:
    path = shipped("policies") / "templates" / "output" / f"{kind}_{fmt}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


@dataclass(frozen=True, slots=True)
class PromptOptions:
    chain_of_thought: bool = False
    #: Ask for a verbalised ``confidence`` in a JSON answer (``--scores confidence``).
    confidence: bool = False
    #: what is judged: the request, the response, or whether the response refused
    task: Task = Task.PROMPT


@cache
def _task_instruction(task: Task) -> str:
    """The sentence a prompt adds for ``task`` (none for ``prompt``: its prompts stay as
    they were, byte for byte)."""
    if task is Task.PROMPT:
        return ""
    return " " + _template(f"task/{task}").strip()


def _reasoning(options: PromptOptions) -> str:
    return _template("cot") if options.chain_of_thought else ""


def _confidence(options: PromptOptions, fmt: str) -> str:
    return _template("confidence") if options.confidence and fmt == "json" else ""


def single_policy_prompt(
    policy: Policy, options: PromptOptions = PromptOptions(), fmt: str = "json"
) -> str:
    """System prompt asking about one policy (a ``gauntlet`` request), answered in ``fmt``."""
    section = _output_section("single", fmt) + _confidence(options, fmt)
    template = _template("single").replace("{{output_format}}", section)
    return _fill(
        template,
        task_instruction=_task_instruction(options.task),
        title=policy.title,
        category=policy.category,
        policy=policy.body,
        reasoning_instruction=_reasoning(options),
    )


def multi_policy_prompt(
    policies: PolicySet, options: PromptOptions = PromptOptions(), fmt: str = "json"
) -> str:
    """System prompt carrying every policy of the set (a ``multi`` request), answered in ``fmt``."""
    blocks = "\n".join(
        _fill(_template("policy_block"), title=p.title, category=p.category, policy=p.body)
        for p in policies.policies
    )
    section = _output_section("multi", fmt) + _confidence(options, fmt)
    template = _template("multi").replace("{{output_format}}", section)
    return _fill(
        template,
        task_instruction=_task_instruction(options.task),
        policies=blocks,
        category_list=", ".join(policies.categories),
        reasoning_instruction=_reasoning(options),
    )


def user_content(sample: Sample) -> str:
    """The user message: the text, or the exchange when the sample has a response."""
    if sample.response is None:
        return sample.text
    return f"User request:\n{sample.text}\n\nAssistant response:\n{sample.response}"


def turns_of(sample: Sample) -> Conversation:
    """The sample as a conversation: its ``messages``, else the user turn (and the response)."""
    if sample.messages is not None:
        return sample.messages
    if sample.response is None:
        return (("user", sample.text),)
    return (("user", sample.text), ("assistant", sample.response))


def conversation(sample: Sample, task: Task) -> UserInput:
    """What follows the system prompt for ``task``; the last turn is the one judged.

    ``prompt``: a single-turn sample is one user message as before (its text, or the
    exchange when it carries a response); a multi-turn one is cut after its last user turn.
    ``response`` / ``refusal``: the conversation up to and including the assistant turn that
    answers the last user turn (a sample without one is refused by ``prepare``).  Turns go
    to chat routes as real role turns.
    """
    if task is Task.PROMPT:
        if sample.messages is None:
            return user_content(sample)
        turns = sample.messages
        last_user = max(i for i, (role, _) in enumerate(turns) if role == "user")
        return turns[: last_user + 1]
    turns = turns_of(sample)
    assistant = [i for i, (role, _) in enumerate(turns) if role == "assistant"]
    if not assistant:  # pragma: no cover - prepare() refuses such datasets
        return turns
    return turns[: assistant[-1] + 1]
