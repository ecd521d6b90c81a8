"""``ensemble``: several members classify the same sample, and they vote.

A member is a strategy, optionally on another model and with its own reasoning
controls, written ``STRATEGY[+cot][+low|+medium|+high][@MODEL]``:

    multi,gauntlet                       two strategies, the run's model
    multi@llama-guard-3,multi@gpt-oss:20b  two models, one strategy
    multi+high,multi+low+cot             one model, two reasoning settings

Every member's requests are sent for every sample, concurrently (the plan is the
members' plans one after another, keys prefixed ``<member>/``), and each member's
verdict is kept in the sample's record (``members``).

Votes, per category, with ``n`` members: ``any`` flags a category one member flags,
``all`` one every member flags, ``majority`` one more than half flag (a tie is not a
flag).  A member whose answer failed is tolerated only where it cannot change the result
(whatever it would have said, every category comes out the same); otherwise the sample
is a parse failure naming that member: a vote is never decided by a silent absence.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..parsers import Verdict
from ..policies import PolicySet
from ..prompts import PromptOptions
from .base import RequestSpec, Strategy
from .formats import family_format

VOTES = ("majority", "any", "all")
EFFORTS = ("low", "medium", "high")
Builder = Callable[[PolicySet, PromptOptions, str | None], Strategy]


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """One parsed ``--ensemble-members`` item."""

    label: str
    strategy: str
    model: str | None = None
    reasoning_effort: str | None = None
    chain_of_thought: bool | None = None


def parse_member(text: str, strategies: Sequence[str]) -> MemberSpec:
    """``gauntlet+high@gpt-oss:20b`` -> :class:`MemberSpec`; :class:`ConfigError` if malformed."""
    label = text.strip()
    head, at, model = label.partition("@")
    if at and not model.strip():
        raise ConfigError("ensemble-members", f"{label!r}: a model name must follow '@'")
    name, *mods = (m.strip() for m in head.split("+"))
    if name not in strategies or name == "ensemble":
        allowed = ", ".join(s for s in strategies if s != "ensemble")
        raise ConfigError("ensemble-members", f"{label!r}: unknown strategy {name!r} ({allowed})")
    effort: str | None = None
    cot: bool | None = None
    for mod in mods:
        if mod in EFFORTS and effort is None:
            effort = mod
        elif mod == "cot" and cot is None:
            cot = True
        else:
            raise ConfigError(
                "ensemble-members", f"{label!r}: {mod!r} is not cot, low, medium or high"
            )
    return MemberSpec(label, name, model.strip() or None, effort, cot)


def parse_members(items: Sequence[str], strategies: Sequence[str]) -> tuple[MemberSpec, ...]:
    members = [parse_member(item, strategies) for item in items if item.strip()]
    if len(members) < 2:
        raise ConfigError("ensemble-members", "an ensemble needs at least two members")
    # Identical members are allowed (sampling at temperature > 0); labels must stay unique.
    seen: Counter[str] = Counter()
    out = []
    for member in members:
        seen[member.label] += 1
        if seen[member.label] > 1:
            member = dataclasses.replace(member, label=f"{member.label}#{seen[member.label]}")
        out.append(member)
    return tuple(out)


class EnsembleStrategy:
    name = "ensemble"

    def __init__(
        self,
        members: Sequence[tuple[MemberSpec, Strategy]],
        vote: str = "majority",
    ) -> None:
        if vote not in VOTES:
            raise ConfigError("vote", f"{vote!r} is not one of {', '.join(VOTES)}")
        self.vote = vote
        self.members = tuple(members)
        specs: list[RequestSpec] = []
        self._slices: list[tuple[str, Strategy, slice]] = []
        for spec, strategy in self.members:
            plan = strategy.plan()
            start = len(specs)
            for part in plan:
                specs.append(
                    dataclasses.replace(
                        part,
                        key=f"{spec.label}/{part.key}",
                        model=spec.model or part.model,
                        reasoning_effort=spec.reasoning_effort or part.reasoning_effort,
                    )
                )
            self._slices.append((spec.label, strategy, slice(start, len(specs))))
        self._specs = tuple(specs)
        n = len(self.members)
        self.threshold = {"any": 1, "all": n, "majority": n // 2 + 1}[vote]

    def plan(self) -> tuple[RequestSpec, ...]:
        return self._specs

    def combine(self, verdicts: Sequence[Verdict]) -> Verdict:
        members = tuple(
            (label, strategy.combine(verdicts[part])) for label, strategy, part in self._slices
        )
        return vote(members, self.threshold, self.vote)


def vote(members: tuple[tuple[str, Verdict], ...], threshold: int, name: str) -> Verdict:
    """Combine member verdicts: a category is flagged by at least ``threshold`` members."""
    counts: Counter[str] = Counter()
    failed = [(label, v) for label, v in members if v.categories is None]
    for _label, verdict in members:
        if verdict.categories is not None:
            counts.update(verdict.categories)
    if len(failed) == len(members):
        return Verdict(None, "every member failed: " + _reasons(failed), members)
    if failed:
        f = len(failed)
        # An unflagged category is decided only if the failed members cannot reach the
        # threshold on their own; a flagged one if it is in already or cannot get in.
        undecided = f >= threshold or any(threshold - f <= k < threshold for k in counts.values())
        if undecided:
            return Verdict(
                None, f"{name} vote undecided without failed members: {_reasons(failed)}", members
            )
    flagged = frozenset(c for c, k in counts.items() if k >= threshold)
    return Verdict(flagged, None, members)


def _reasons(failed: Sequence[tuple[str, Verdict]]) -> str:
    return "; ".join(f"{label}: {v.reason}" for label, v in failed)


def build_ensemble(
    policies: PolicySet,
    options: PromptOptions,
    output_format: str | None,
    model: str | None,
    items: Sequence[str],
    vote_name: str,
    builders: dict[str, Builder],
) -> EnsembleStrategy:
    """An ensemble from ``--ensemble-members`` items, each member built by name; a member
    on a guard model (``multi@llama-guard3``) parses in that model's format."""
    members = []
    for spec in parse_members(items, tuple(builders)):
        member_options = options
        if spec.chain_of_thought is not None:
            member_options = dataclasses.replace(options, chain_of_thought=spec.chain_of_thought)
        fmt = output_format or family_format(spec.model or model)
        members.append((spec, builders[spec.strategy](policies, member_options, fmt)))
    return EnsembleStrategy(members, vote_name)
