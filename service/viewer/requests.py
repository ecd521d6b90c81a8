"""The exact requests a stored sample was sent, rebuilt from the run's config and policies.

A record stores the user turn as sent (``input``), not the system turns: those are the
same for every sample of a run, rendered once from the policy set (``service/prompts.py``),
so storing them per record would repeat kilobytes a million times.  They are rebuilt here
by the same code the run used (``strategies.from_config``), and checked: the policy set
must still hash to the run's stored ``policy_hash`` and the plan's request keys must be
the record's part keys, or the page says the prompt can no longer be rebuilt and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..client import request_fields
from ..config import RunConfig
from ..errors import PolicybenchError
from ..policies import Policy, load_policy_set
from ..store import RunRow
from ..strategies import RequestSpec, from_config


@dataclass(frozen=True, slots=True)
class RunPrompts:
    """A run's request plan by part key, its policies, or the reason it cannot be rebuilt."""

    specs: dict[str, RequestSpec]
    policies: tuple[Policy, ...]
    base: dict[str, Any]
    problem: str | None = None

    def native(self, key: str) -> bool:
        """Whether part ``key`` went out in a native prompt format (rendered per sample)."""
        spec = self.specs.get(key)
        return spec is not None and spec.native is not None

    def request(self, key: str, user: Any) -> dict[str, Any] | None:
        """The chat request body of part ``key`` with ``user`` as its user turn."""
        spec = self.specs.get(key)
        if spec is None or spec.native is not None:
            return None
        body = dict(self.base)
        if spec.model is not None:
            body["model"] = spec.model
        if spec.reasoning_effort is not None:
            body["reasoning_effort"] = spec.reasoning_effort
        body["messages"] = [
            {"role": "system", "content": spec.system},
            {"role": "user", "content": user},
        ]
        return body


def run_prompts(row: RunRow) -> RunPrompts:
    """Rebuild ``row``'s request plan; never raises (a problem is returned as text)."""
    try:
        config = RunConfig.model_validate(row.config)
        policies = load_policy_set(config.policies)
        strategy = from_config(config, policies)
    except (PolicybenchError, ValueError) as exc:
        return RunPrompts({}, (), {}, f"the run's prompts cannot be rebuilt: {exc}")
    base = request_fields(
        config.model, config.max_tokens, config.temperature, config.reasoning_effort
    )
    problem = None
    if policies.digest != row.policy_hash:
        problem = (
            f"the policy files changed since this run (hash {policies.digest[:12]} now, "
            f"{row.policy_hash[:12]} then): the system turns below are today's, not the ones sent"
        )
    specs = {spec.key: spec for spec in strategy.plan()}
    return RunPrompts(specs, tuple(policies.policies), base, problem)
