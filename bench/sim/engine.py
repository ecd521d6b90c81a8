"""A step model of vLLM's continuous batching, run in (scaled) real time.

One engine loop plays vLLM V1's scheduler: at most ``max_num_seqs`` sequences run at
once and the rest wait in a FIFO queue; a sequence is admitted only if the KV pool has
room for its prompt and output; each step carries one decode token for every running
sequence plus chunked-prefill tokens up to ``max_num_batched_tokens``; a step's duration
comes from the profile's step model; prompt blocks already computed (a shared policy
prompt) are not computed again when prefix caching is on.  The first token comes out of
the step that finishes a prompt, then one token per step, so requests finish in the
order the model implies, not in arrival order.

The loop keeps a model clock and sleeps only when it is more than a millisecond ahead of
the wall clock (``wall = start + model_time * time_scale``), so step times far below the
timer resolution still add up exactly.  Bookkeeping is O(1) per step plus O(log n) per
finishing sequence: decode sequences sit in a heap keyed by the step they finish on.
With ``time_scale == 0`` nothing is queued: every request is answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .profile import Profile


class EngineEvents(Protocol):
    """What the engine reports (implemented by :mod:`.metrics`)."""

    def admitted(self, seq: EngineSequence) -> None: ...
    def first_token(self, seq: EngineSequence) -> None: ...
    def finished(self, seq: EngineSequence) -> None: ...
    def step(self, seconds: float, tokens: int, decode_seqs: int) -> None: ...


@dataclass(eq=False, slots=True)
class EngineSequence:
    """One engine request.  Times are wall-clock (``loop.time()``)."""

    prompt_tokens: int
    output_tokens: int
    block_hashes: tuple[int, ...] = ()
    #: ``"stop"`` or ``"length"``: how the request ends once its tokens are out.
    finish_reason: str = "stop"
    #: The request's ``max_tokens`` as the engine applies it (vLLM's request_params_* metrics).
    max_tokens: int | None = None
    #: Called once per generated token (streaming); ``None`` when not streaming.
    on_token: Callable[[int], None] | None = None
    arrival: float = 0.0
    scheduled_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    cached_tokens: int = 0
    to_compute: int = 0
    prefilled: int = 0
    generated: int = 0
    kv_tokens: int = 0
    finish_step: int = 0
    done: asyncio.Future[None] | None = None
    aborted: bool = False
    rid: int = field(default_factory=itertools.count().__next__)


class PrefixCache:
    """Full prompt blocks already computed, by chained hash, evicted least recently used."""

    def __init__(self, capacity_blocks: int) -> None:
        self.capacity = max(1, capacity_blocks)
        self._blocks: OrderedDict[int, None] = OrderedDict()

    def match(self, hashes: tuple[int, ...]) -> int:
        """Number of leading blocks of ``hashes`` in the cache."""
        n = 0
        for h in hashes:
            if h not in self._blocks:
                break
            self._blocks.move_to_end(h)
            n += 1
        return n

    def insert(self, hashes: tuple[int, ...]) -> None:
        for h in hashes:
            self._blocks[h] = None
            self._blocks.move_to_end(h)
        while len(self._blocks) > self.capacity:
            self._blocks.popitem(last=False)


class Engine:
    """The simulated engine core.  ``submit`` a :class:`EngineSequence`, await its ``done``."""

    def __init__(
        self,
        profile: Profile,
        time_scale: float,
        events: EngineEvents | None = None,
        *,
        prefix_caching: bool | None = None,
    ) -> None:
        self.profile = profile
        self.time_scale = time_scale
        self.events = events
        self.prefix_caching = profile.prefix_caching if prefix_caching is None else prefix_caching
        self.cache = PrefixCache(profile.kv_cache_tokens // profile.block_size)
        self.waiting: deque[EngineSequence] = deque()
        self.prefilling: deque[EngineSequence] = deque()
        self._decoding: list[tuple[int, int, EngineSequence]] = []
        self._streaming: set[EngineSequence] = set()
        self.step_no = 0
        self.context_tokens = 0
        self.kv_used = 0
        self.model_seconds = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._fixed_slots: asyncio.Semaphore | None = None
        self._fixed_running = 0
        self._fixed_waiting = 0

    # -- state read by /metrics -----------------------------------------------------------
    @property
    def running(self) -> int:
        return len(self.prefilling) + len(self._decoding) + self._fixed_running

    @property
    def num_waiting(self) -> int:
        return len(self.waiting) + self._fixed_waiting

    @property
    def kv_usage(self) -> float:
        return min(1.0, self.kv_used / self.profile.kv_cache_tokens)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None and self.time_scale > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sim-engine")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for seq in [*self.waiting, *self.prefilling, *(s for _, _, s in self._decoding)]:
            if seq.done is not None and not seq.done.done():
                seq.done.cancel()

    # -- requests ---------------------------------------------------------------------------
    def submit(self, seq: EngineSequence) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        seq.arrival = loop.time()
        seq.done = loop.create_future()
        seq.output_tokens = max(1, seq.output_tokens)
        if self.time_scale <= 0:
            self._instant(seq, seq.arrival)
            return seq.done
        self.waiting.append(seq)
        self._wake.set()
        return seq.done

    def abort(self, seq: EngineSequence) -> None:
        """The client went away.  A waiting sequence is dropped at once; a running one keeps
        its slot until its last step (a simplification: vLLM frees it at the next step) and
        is counted with ``finished_reason="abort"``."""
        if seq.finished_at is not None or seq.aborted:
            return
        seq.aborted = True
        seq.finish_reason = "abort"

    async def run_fixed(self, seq: EngineSequence, seconds: float) -> None:
        """The first version's latency model: a fixed time per request, at most
        ``max_num_seqs`` at once (kept for ``SimConfig(base_latency=...)`` callers)."""
        loop = asyncio.get_running_loop()
        if self._fixed_slots is None:
            self._fixed_slots = asyncio.Semaphore(self.profile.max_num_seqs)
        seq.arrival = loop.time()
        self._fixed_waiting += 1
        try:
            await self._fixed_slots.acquire()
        finally:
            self._fixed_waiting -= 1
        self._fixed_running += 1
        try:
            self._schedule(seq, loop.time())
            if seconds > 0:
                await asyncio.sleep(seconds)
            seq.prefilled = seq.to_compute
            self._prefill_done(seq, loop.time())
            seq.generated = seq.output_tokens
            self._finish(seq, loop.time())
        finally:
            self._fixed_running -= 1
            self._fixed_slots.release()
            if seq.finished_at is None:
                seq.finish_reason = "abort"
                self._finish(seq, loop.time())

    def _instant(self, seq: EngineSequence, now: float) -> None:
        self._schedule(seq, now)
        seq.prefilled = seq.to_compute
        self._prefill_done(seq, now)
        if seq.on_token is not None:
            for i in range(2, seq.output_tokens + 1):
                seq.on_token(i)
        seq.generated = seq.output_tokens
        self._finish(seq, now)

    # -- the loop ----------------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        anchor = loop.time()
        ahead = 0.0  # model time elapsed since ``anchor``, already scaled
        while True:
            if not (self.waiting or self.prefilling or self._decoding):
                self._wake.clear()
                await self._wake.wait()
                anchor, ahead = loop.time(), 0.0
            now = loop.time()
            self._admit(now)
            work, seconds, decode_seqs, prefill_tokens = self._compose()
            self.model_seconds += seconds
            ahead += seconds * self.time_scale
            delay = anchor + ahead - loop.time()
            # sleep only when ahead by more than the timer's resolution; yield otherwise
            await asyncio.sleep(delay if delay > 0.001 else 0)
            self._apply(work, loop.time())
            if self.events is not None:
                self.events.step(
                    seconds * self.time_scale, decode_seqs + prefill_tokens, decode_seqs
                )

    def _admit(self, now: float) -> None:
        limit = self.profile.max_num_seqs
        while self.waiting and self.running < limit:
            seq = self.waiting[0]
            if seq.aborted:
                self.waiting.popleft()
                self._finish(seq, now)
                continue
            hit = self._cache_hit(seq)
            need = seq.prompt_tokens + seq.output_tokens - hit
            if self.kv_used + need > self.profile.kv_cache_tokens and self.running > 0:
                break  # no room in the KV pool until something finishes
            self.waiting.popleft()
            self._schedule(seq, now, hit)
            self.prefilling.append(seq)

    def _cache_hit(self, seq: EngineSequence) -> int:
        if not self.prefix_caching or not seq.block_hashes:
            return 0
        bs = self.profile.block_size
        blocks = self.cache.match(seq.block_hashes)
        # only full blocks, and the last prompt token is always computed
        return min(blocks * bs, ((seq.prompt_tokens - 1) // bs) * bs)

    def _schedule(self, seq: EngineSequence, now: float, hit: int | None = None) -> None:
        if hit is None:
            hit = self._cache_hit(seq)
        seq.cached_tokens = hit
        seq.to_compute = seq.prompt_tokens - hit
        seq.kv_tokens = seq.prompt_tokens + seq.output_tokens - hit
        self.kv_used += seq.kv_tokens
        seq.scheduled_at = now
        if self.events is not None:
            self.events.admitted(seq)

    def _compose(self) -> tuple[list[tuple[EngineSequence, int]], float, int, int]:
        decode_seqs = len(self._decoding)
        budget = self.profile.max_num_batched_tokens - decode_seqs
        work: list[tuple[EngineSequence, int]] = []
        prefill = 0
        for seq in self.prefilling:
            if budget <= 0:
                break
            take = min(seq.to_compute - seq.prefilled, budget)
            work.append((seq, take))
            budget -= take
            prefill += take
        seconds = self.profile.step_seconds(decode_seqs + len(work), prefill, self.context_tokens)
        return work, seconds, decode_seqs, prefill

    def _apply(self, work: list[tuple[EngineSequence, int]], now: float) -> None:
        self.step_no += 1
        self.context_tokens += len(self._decoding)
        for seq in self._streaming:
            seq.generated += 1
            if seq.on_token is not None and not seq.aborted:
                seq.on_token(seq.generated)
        while self._decoding and self._decoding[0][0] <= self.step_no:
            _, _, seq = heapq.heappop(self._decoding)
            self._streaming.discard(seq)
            self.context_tokens -= seq.prompt_tokens + seq.output_tokens
            seq.generated = seq.output_tokens
            self._finish(seq, now)
        for seq, take in work:
            seq.prefilled += take
            if seq.prefilled >= seq.to_compute:
                self.prefilling.popleft()  # prefill is FIFO: finished ones lead the queue
                self._prefill_done(seq, now)
                if seq.output_tokens <= 1 or seq.aborted:
                    self._finish(seq, now)
                else:
                    seq.finish_step = self.step_no + seq.output_tokens - 1
                    heapq.heappush(self._decoding, (seq.finish_step, seq.rid, seq))
                    self.context_tokens += seq.prompt_tokens + 1
                    if seq.on_token is not None:
                        self._streaming.add(seq)

    def _prefill_done(self, seq: EngineSequence, now: float) -> None:
        if self.prefix_caching and seq.block_hashes:
            self.cache.insert(seq.block_hashes)
        seq.first_token_at = now
        seq.generated = 1
        if seq.on_token is not None and not seq.aborted:
            seq.on_token(1)
        if self.events is not None:
            self.events.first_token(seq)

    def _finish(self, seq: EngineSequence, now: float) -> None:
        if seq.finished_at is not None:
            return
        seq.finished_at = now
        self.kv_used -= seq.kv_tokens
        if self.events is not None:
            self.events.finished(seq)
        if seq.done is not None and not seq.done.done():
            seq.done.set_result(None)
