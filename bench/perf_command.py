"""``bench perf client|saturation|scores|memory|parse|viewer``: benchmarks of policybench itself, figures side by side."""

from __future__ import annotations

import click

from .options import json_option, option


@click.group("perf")
def perf_group() -> None:
    """Performance benchmarks: figures and ratios measured side by side in one run."""


@perf_group.command("client")
@option("--samples", type=int, default=5000, show_default=True, help="Samples per round.")
@option("--concurrency", type=int, default=64, show_default=True, help="Requests in flight.")
@option(
    "--rounds",
    type=int,
    default=3,
    show_default=True,
    help="Alternating rounds (medians are reported).",
)
@option(
    "--strategy",
    "strategies",
    multiple=True,
    default=("multi", "gauntlet", "multi-batch16"),
    show_default=True,
    help="Modes to measure (repeatable): STRATEGY[-batchB][-metrics], e.g. multi, gauntlet, multi-batch16 (B conversations per request), multi-metrics (Prometheus metrics on).",
)
@json_option
def perf_client_cmd(
    samples: int, concurrency: int, rounds: int, strategies: tuple[str, ...], as_json: bool
) -> None:
    """Pipeline ceiling vs a bare aiohttp loop against a zero-latency simulator (separate process)."""
    from .perf.client import run_client_bench
    from .perf.report import print_figures

    print_figures(
        "client ceiling", run_client_bench(samples, concurrency, rounds, list(strategies)), as_json
    )


@perf_group.command("saturation")
@option(
    "--profile", default="gpt-oss-safeguard-20b-h100", show_default=True, help="Simulator profile."
)
@option(
    "--max-num-seqs",
    type=int,
    default=32,
    show_default=True,
    help="The simulated server's batch limit (its knee).",
)
@option("--samples", type=int, default=1500, show_default=True, help="Samples per run.")
@option("--time-scale", type=float, default=0.1, show_default=True, help="Simulator time scale.")
@json_option
def perf_saturation_cmd(
    profile: str, max_num_seqs: int, samples: int, time_scale: float, as_json: bool
) -> None:
    """Fraction of a simulated server's modelled capacity reached at fixed and auto concurrency."""
    from .perf.report import print_figures
    from .perf.saturation import run_saturation_bench

    print_figures(
        "saturation", run_saturation_bench(profile, max_num_seqs, samples, time_scale), as_json
    )


@perf_group.command("scores")
@option(
    "--samples", type=int, default=200, show_default=True, help="Samples per run (x6 requests)."
)
@option("--concurrency", type=int, default=64, show_default=True, help="Requests in flight.")
@option("--rounds", type=int, default=3, show_default=True, help="Alternating rounds (medians).")
@option("--time-scale", type=float, default=0.05, show_default=True, help="Simulator time scale.")
@json_option
def perf_scores_cmd(
    samples: int, concurrency: int, rounds: int, time_scale: float, as_json: bool
) -> None:
    """Throughput of a verdict-first format read from the first token's logprobs
    (max_tokens 1) against the same format generated in full, side by side."""
    from .perf.report import print_figures
    from .perf.scores import run_scores_bench

    print_figures("scores", run_scores_bench(samples, concurrency, rounds, time_scale), as_json)


@perf_group.command("memory")
@option("--small", type=int, default=10_000, show_default=True, help="Samples in the small run.")
@option("--large", type=int, default=1_000_000, show_default=True, help="Samples in the large run.")
@option("--concurrency", type=int, default=64, show_default=True, help="Requests in flight.")
@json_option
def perf_memory_cmd(small: int, large: int, concurrency: int, as_json: bool) -> None:
    """Peak RSS of a zero-latency run over a small and a large streamed dataset."""
    from .perf.memory import run_memory_bench
    from .perf.report import print_figures

    print_figures("memory", run_memory_bench(small, large, concurrency), as_json)


@perf_group.command("parse")
@option("--repeat", type=int, default=5, show_default=True, help="Parses per answer (median).")
@json_option
def perf_parse_cmd(repeat: int, as_json: bool) -> None:
    """Each output format's worst parse time on 1 MB adversarial answers (target: 5 ms)."""
    from .perf.parse import run_parse_bench
    from .perf.report import print_figures

    print_figures("parse", run_parse_bench(repeat), as_json)


@perf_group.command("viewer")
@option("--records", type=int, default=1_000_000, show_default=True, help="Records in the big run.")
@option(
    "--write-sample",
    type=int,
    default=100_000,
    show_default=True,
    help="Records written with and without tags, for the write-cost ratio.",
)
@option("--repeats", type=int, default=5, show_default=True, help="Fetches per page (median).")
@json_option
def perf_viewer_cmd(records: int, write_sample: int, repeats: int, as_json: bool) -> None:
    """Viewer pages over HTTP on a stored run of 1,000,000 records: open, filter, search."""
    from .perf.report import print_figures
    from .perf.viewer import run_viewer_bench

    print_figures("viewer", run_viewer_bench(records, write_sample, repeats), as_json)
