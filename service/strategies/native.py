"""A guard model's native prompt format as a strategy: its own request, parser and score.

The format (:mod:`..prompt_formats`) decides the request's shape; the run's strategy
decides how policies are grouped: ``multi`` puts every policy in one request, ``gauntlet``
sends one request per policy and takes the union; a ``per_policy`` format (ShieldGemma,
Granite Guardian: one policy a request by design) always sends one per policy.  What
does not vary per sample (the category list, the policy prompt) is rendered once here;
each sample then fills in its turns.  The sample's last turn is the one judged: the
assistant's response when the sample has one, else the user's request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..client_types import NativeRequest
from ..datasets import Sample
from ..errors import ConfigError
from ..parsers import ParseContext, Verdict
from ..policies import Policy, PolicySet
from ..prompt_formats import PromptFormat, fill, fill_any
from ..prompts import PromptOptions, multi_policy_prompt, single_policy_prompt, user_content
from .base import RequestSpec


def _policy_values(fmt: PromptFormat, group: Sequence[Policy], prompt: str) -> dict[str, str]:
    entries = []
    for i, p in enumerate(group, start=1):
        values = {
            "code": f"{fmt.code_prefix}{i}",
            "title": p.title,
            "category": p.category,
            "policy": p.body.strip(),
        }
        entries.append(fill(fmt.category, values))
    values = {"categories": fmt.category_separator.join(entries), "policy_prompt": prompt}
    if len(group) == 1:
        p = group[0]
        values.update(
            code=f"{fmt.code_prefix}1", title=p.title, category=p.category, policy=p.body.strip()
        )
    return values


def renderer(
    fmt: PromptFormat, fixed: dict[str, str], effort: str | None, key: str
) -> Callable[[Sample], NativeRequest]:
    """The per-sample request of one group of policies, everything fixed rendered already."""
    request = dict(fmt.request)
    if fmt.route == "chat" and effort:
        request.setdefault("reasoning_effort", effort)

    def render(sample: Sample) -> NativeRequest:
        has_response = sample.response is not None
        values = dict(fixed)
        values["prompt"] = sample.text
        values["response"] = sample.response if sample.response is not None else fmt.no_response
        values["role"] = fmt.assistant_role if has_response else fmt.user_role
        values["reasoning_effort"] = effort or "medium"
        values["content"] = user_content(sample)
        turns = [(fmt.user_role, sample.text)]
        if sample.response is not None:
            turns.append((fmt.assistant_role, sample.response))
        values["conversation"] = fmt.turn_separator.join(
            fill(fmt.turn, {"role": role, "content": text}) for role, text in turns
        )
        fields = dict(request)
        if fmt.route == "completions":
            template = fmt.response_text if has_response and fmt.response_text else fmt.text
            fields["prompt"] = fill(template, values)
        else:
            fields["messages"] = [
                {"role": m.role, "content": fill(m.content, values)}
                for m in fmt.messages
                if has_response or not m.with_response
            ]
            if fmt.chat_template_kwargs:
                fields["chat_template_kwargs"] = fill_any(dict(fmt.chat_template_kwargs), values)
        return NativeRequest(fmt.route, fields, affinity=key)

    return render


class NativeStrategy:
    """Requests in a native format; ``name`` is the run's strategy (``multi``/``gauntlet``)."""

    def __init__(
        self,
        name: str,
        fmt: PromptFormat,
        policies: PolicySet,
        options: PromptOptions,
        reasoning_effort: str | None,
    ) -> None:
        if name not in ("multi", "gauntlet"):
            raise ConfigError(
                "prompt-format", f"a native format runs with multi or gauntlet, not {name}"
            )
        self.name = name
        self.format = fmt
        effort = reasoning_effort or fmt.reasoning_effort
        categories = policies.categories
        one_each = fmt.per_policy or name == "gauntlet"
        groups = [(p,) for p in policies.policies] if one_each else [policies.policies]
        specs = []
        for group in groups:
            if len(group) == 1 and one_each:
                prompt = single_policy_prompt(group[0], options, fmt.parser)
                key, target = group[0].category, group[0].category
            else:
                prompt = multi_policy_prompt(policies, options, fmt.parser)
                key, target = "all", None
            fixed = _policy_values(fmt, group, prompt)
            specs.append(
                RequestSpec(
                    key=key,
                    system=f"{fmt.name}:{key}",
                    ctx=ParseContext(categories=categories, target=target, task=options.task),
                    fmt=fmt.parser,
                    native=renderer(fmt, fixed, effort, key),
                    score_rule=fmt.score,
                )
            )
        self._specs = tuple(specs)

    def plan(self) -> tuple[RequestSpec, ...]:
        return self._specs

    def combine(self, verdicts: Sequence[Verdict]) -> Verdict:
        if len(self._specs) == 1:
            return verdicts[0]
        violated: set[str] = set()
        for spec, verdict in zip(self._specs, verdicts, strict=True):
            if verdict.categories is None:
                return Verdict.fail(f"{spec.key}: {verdict.reason}")
            violated |= verdict.categories
        return Verdict(frozenset(violated))
