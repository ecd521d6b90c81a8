"""What the step model predicts for a closed-loop workload: C clients, each sending its next
request as soon as the last one is answered.

It is a mean-value analysis of the engine in :mod:`.engine`, in model seconds:

- a request spends ``h`` (frontend overhead) outside the engine, then ``O`` engine steps
  (the step that finishes its prompt emits the first token, then one token per step),
  plus on average half a step waiting for the running step to end when the engine is
  busy;
- below ``max_num_seqs`` (M) a request sees itself plus each other client with the
  probability that the client is inside the engine, ``f = L_e / (h + L_e)``; the prompt
  tokens computed during its life are its own plus those of the others arriving
  meanwhile;
- at or above M the engine is saturated: M sequences per step, and every step also
  computes the prompts of the ``M / O`` requests that replace the finished ones.

``calibrate`` compares these numbers with a measured run (docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .profile import Profile


@dataclass(frozen=True, slots=True)
class Prediction:
    concurrency: int
    requests_per_second: float
    latency_seconds: float
    step_seconds: float
    running: float

    @property
    def samples_per_hour(self) -> float:
        return self.requests_per_second * 3600.0


def _step(profile: Profile, seqs: float, prefill_tokens: float, context: float) -> float:
    small = min(seqs, profile.small_batch)
    large = max(0.0, seqs - profile.small_batch)
    return (
        profile.base_seconds
        + profile.per_seq_small_seconds * small
        + profile.per_seq_large_seconds * large
        + profile.prefill_per_token_seconds * prefill_tokens
        + profile.kv_read_per_seq_per_1k_tokens_seconds * context / 1000.0
    )


def predict(
    profile: Profile,
    concurrency: int,
    *,
    prompt_tokens: float,
    computed_prompt_tokens: float,
    output_tokens: float,
) -> Prediction:
    """Throughput (requests/s) and mean latency (s) in model time, for ``concurrency`` clients.

    ``computed_prompt_tokens`` is the mean prompt length minus prefix-cache hits.
    """
    c = max(1, concurrency)
    m = profile.max_num_seqs
    o = max(1.0, output_tokens)
    h = profile.frontend_overhead_seconds
    ctx_per_seq = prompt_tokens + o / 2.0
    if c > m:  # saturated: M running, the rest queue
        decode = _step(profile, m, 0.0, m * ctx_per_seq)
        prefill_share = profile.prefill_per_token_seconds * computed_prompt_tokens * m / o
        tau = decode + prefill_share
        x = m / (o * tau)
        return Prediction(c, x, c / x, tau, float(m))
    le = o * _step(profile, c, 0.0, c * ctx_per_seq)
    x = c / (h + le)
    for _ in range(200):
        f = le / (h + le)
        seen = 1.0 + (c - 1) * f
        tau = _step(profile, seen, 0.0, seen * ctx_per_seq)
        others = x * le * (c - 1) / c
        busy = 1.0 - (1.0 - f) ** (c - 1)
        new_le = o * tau + profile.prefill_per_token_seconds * computed_prompt_tokens * (1.0 + others) + busy * tau / 2.0  # fmt: skip
        le = 0.5 * le + 0.5 * new_le
        x = c / (h + le)
    f = le / (h + le)
    return Prediction(c, x, h + le, le / o, 1.0 + (c - 1) * f)
