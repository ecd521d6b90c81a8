"""``bench sim``: serve the simulated vLLM server until interrupted."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
from policybench.service.datasets import resolve
from policybench.service.errors import InputError

from .common import EXIT_OK, EXIT_USAGE, BenchError
from .interrupts import stop_on_signal
from .options import option
from .sim import (
    FaultSpecError,
    ProfileError,
    SimConfig,
    SimConfigError,
    available,
    load_profile,
    parse_faults,
    serve_in_background,
)


def _list_profiles() -> int:
    for name in available():
        p = load_profile(name)
        click.echo(f"{name:<28} {p.description}")
        click.echo(
            f"{'':<28} max_num_seqs {p.max_num_seqs}, batched tokens {p.max_num_batched_tokens}, "
            f"KV {p.kv_cache_tokens:,} tokens, step {p.base_seconds * 1000:g} ms at batch 1, "
            f"prefill {p.prefill_per_token_seconds * 1e6:g} us/token"
        )
    return EXIT_OK


def build_sim_config(opts: dict[str, Any]) -> SimConfig:
    """Options -> a validated :class:`SimConfig`; :class:`BenchError` (exit 2) names the option."""
    try:
        paths = tuple(str(resolve(d)) for d in opts["datasets"])
    except InputError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    try:
        faults = parse_faults(
            list(opts["faults"]),
            retry_after=opts["fault_retry_after"],
            slow_seconds=opts["fault_slow_seconds"],
        )
        model = opts["model"] or load_profile(opts["profile"]).model
        return SimConfig(
            datasets=paths,
            model=model,
            profile=opts["profile"],
            error_rate=opts["error_rate"],
            seed=opts["seed"],
            max_num_seqs=opts["max_num_seqs"],
            time_scale=opts["time_scale"],
            prefix_caching=opts["prefix_caching"],
            style=opts["style"],
            independent_models=opts["independent_models"],
            # as vLLM: the served names only, unless independent models are asked for
            # without naming them
            served_models=()
            if opts["independent_models"] and not opts["served_model_names"]
            else (model, *opts["served_model_names"]),
            reasoning_field=opts["reasoning_field"],
            refusal_rate=opts["refusal_rate"],
            empty_rate=opts["empty_rate"],
            truncate_rate=opts["truncate_rate"],
            faults=faults,
        )
    except FaultSpecError as exc:
        raise BenchError(f"--fault: {exc}", EXIT_USAGE) from exc
    except (SimConfigError, ProfileError) as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc


def sim_command(opts: dict[str, Any]) -> int:
    if opts.get("list_profiles"):
        return _list_profiles()
    config = build_sim_config(opts)
    asyncio.run(_serve(config, opts["host"], opts["port"]))
    return EXIT_OK


async def _serve(config: SimConfig, host: str, port: int) -> None:
    with stop_on_signal() as stop:
        await _serve_until(config, host, port, stop)


async def _serve_until(config: SimConfig, host: str, port: int, stop: asyncio.Event) -> None:
    async with serve_in_background(config, host, port) as (url, _app):
        profile = config.resolved_profile()
        click.echo(
            f"simulated server on {url} (model {config.model!r}, profile {profile.name}, "
            f"time scale {config.time_scale:g}); metrics on {url.removesuffix('/v1')}/metrics; "
            "Ctrl-C to stop",
            err=True,
        )
        await stop.wait()


@click.command("sim")
@option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default)."
)
@option("--port", type=int, default=8000, show_default=True, help="Port (0 = any free port).")
@option(
    "--dataset",
    "datasets",
    multiple=True,
    help="Dataset(s) whose gold labels the simulated model knows (repeatable).",
)
@option("--model", default=None, help="Model name it serves (default: the profile's).")
@option(
    "--served-model-name",
    "served_model_names",
    multiple=True,
    help="Another model name it serves (repeatable); requests for any other get vLLM's 404.",
)
@option(
    "--profile",
    default="gpt-oss-safeguard-20b-h100",
    show_default=True,
    help="Performance profile: a shipped name or a .toml file.",
)
@option("--list-profiles", is_flag=True, help="List the shipped profiles and exit.")
@option(
    "--error-rate",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of wrong answers (seeded).",
)
@option("--seed", type=int, default=0, show_default=True, help="Seed of its errors and faults.")
@option(
    "--max-num-seqs", type=int, default=None, help="Sequences run at once (default: the profile's)."
)
@option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Multiply every latency (0 = answer at once: the zero-latency mode).",
)
@option(
    "--prefix-caching/--no-prefix-caching",
    default=None,
    help="Prefix caching (default: the profile's, on as in vLLM).",
)
@option(
    "--independent-models",
    is_flag=True,
    help="Each model name errs on its own draws (default: all models make the same mistakes).",
)
@option(
    "--style",
    default="auto",
    show_default=True,
    help="Answer style: auto (by model name, then the prompt's format), json, json-fenced, binary, "
    "violation-safe, valid-invalid, llamaguard, wildguard, guardreasoner, shieldgemma, qwen3guard, ...",
)
@option(
    "--reasoning-field",
    type=click.Choice(["reasoning", "reasoning_content", "both", "none"]),
    default=None,
    help="Where reasoning goes: vLLM >= 0.16 and Ollama `reasoning`, <= 0.11.0 `reasoning_content`, "
    "0.11.1-0.15 both (default: the profile's).",
)
@option("--refusal-rate", type=float, default=0.0, show_default=True, help="Share of refusals.")
@option("--empty-rate", type=float, default=0.0, show_default=True, help="Share of empty answers.")
@option(
    "--truncate-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of answers cut off by the token limit.",
)
@option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND=RATE",
    help="Inject a fault (500|503|429|400|slow|hang|drop|malformed|empty), repeatable.",
)
@option(
    "--fault-retry-after",
    type=float,
    default=1.0,
    show_default=True,
    help="Retry-After seconds of the 429 fault.",
)
@option(
    "--fault-slow-seconds",
    type=float,
    default=2.0,
    show_default=True,
    help="Delay of the slow fault (wall seconds).",
)
def sim_cmd(**opts: Any) -> None:
    """Serve the simulated OpenAI-compatible guard model (no GPU needed)."""

    sys.exit(sim_command(opts))
