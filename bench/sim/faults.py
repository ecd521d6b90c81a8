"""Seeded fault injection: the ways a server or the network lets a client down.

Each request draws one number from a seeded generator and at most one fault applies,
chosen by the configured rates (their sum is at most 1):

==============  =====================================================  ====================
kind            what the client sees                                   policybench retries?
==============  =====================================================  ====================
``500``         HTTP 500 with an error body                            yes
``503``         HTTP 503 (vLLM's admission limit, Ollama's full queue) yes
``429``         HTTP 429 with ``Retry-After: <retry_after>``           yes, after the wait
``400``         HTTP 400 (e.g. prompt longer than the context)         no: an error record
``slow``        the answer, ``slow_seconds`` late (wall clock)         n/a (a timeout if late)
``hang``        nothing, until the client gives up                     yes (timeout)
``drop``        headers and half the body, then the connection closes  yes
``malformed``   HTTP 200 with a body that is not JSON                  yes
``empty``       HTTP 200 with ``"choices": []``                        yes
==============  =====================================================  ====================
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FAULT_KINDS = ("500", "503", "429", "400", "slow", "hang", "drop", "malformed", "empty")
_ALIASES = {"empty_choices": "empty", "timeout": "hang", "rate_limit": "429", "dropped": "drop"}


class FaultSpecError(ValueError):
    """A ``KIND=RATE`` fault spec that cannot be used."""


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Rates per fault kind and the knobs of the slow, hang and 429 faults."""

    rates: tuple[tuple[str, float], ...] = ()
    retry_after: float = 1.0
    slow_seconds: float = 2.0
    hang_seconds: float = 3600.0

    def __post_init__(self) -> None:
        total = 0.0
        for kind, rate in self.rates:
            if kind not in FAULT_KINDS:
                raise FaultSpecError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
            if not 0.0 <= rate <= 1.0:
                raise FaultSpecError(f"{kind}: rate {rate} is not between 0 and 1")
            total += rate
        if total > 1.0 + 1e-9:
            raise FaultSpecError(f"fault rates add up to {total:g}, more than 1")
        for name in ("retry_after", "slow_seconds", "hang_seconds"):
            if getattr(self, name) < 0:
                raise FaultSpecError(f"{name}: must be >= 0")

    def as_record(self) -> dict[str, object]:
        return {
            "rates": dict(self.rates),
            "retry_after": self.retry_after,
            "slow_seconds": self.slow_seconds,
        }


def parse_fault(spec: str) -> tuple[str, float]:
    """``"503=0.05"`` (or ``503:0.05``) -> ``("503", 0.05)``."""
    sep = "=" if "=" in spec else ":"
    kind, _, value = spec.partition(sep)
    kind = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if kind not in FAULT_KINDS:
        raise FaultSpecError(f"{spec!r}: unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
    try:
        rate = float(value)
    except ValueError:
        raise FaultSpecError(f"{spec!r}: expected KIND=RATE, e.g. 503=0.05") from None
    if not 0.0 <= rate <= 1.0:
        raise FaultSpecError(f"{spec!r}: rate must be between 0 and 1")
    return kind, rate


def parse_faults(specs: tuple[str, ...] | list[str], **knobs: float) -> FaultConfig:
    merged: dict[str, float] = {}
    for spec in specs:
        kind, rate = parse_fault(spec)
        merged[kind] = rate
    return FaultConfig(rates=tuple(merged.items()), **knobs)


class FaultInjector:
    """Draws the fault (or ``None``) for each request, from one seeded generator."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self._rng = random.Random(f"faults:{seed}")
        self._table = [(kind, rate) for kind, rate in config.rates if rate > 0]
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)

    def draw(self) -> str | None:
        if not self._table:
            return None
        u = self._rng.random()
        for kind, rate in self._table:
            if u < rate:
                self.counts[kind] += 1
                return kind
            u -= rate
        return None
