"""``bench suite``: models over protocol datasets against the simulated server, the
standard table (F1 per set, the size-weighted average) in four formats with provenance,
and resuming: a second invocation sends no request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.store import Store
from policybench.service.suite import load_suite

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "prompt-harm-suite.toml"


def write_set(path: Path, n: int, unsafe: int, prefix: str) -> None:
    header = {"policybench_dataset": 1, "imported": {"protocol": {"name": prefix}}}
    lines = [json.dumps(header)]
    # unsafe samples carry a category so the simulated models can answer them
    for i in range(n):
        row = {"id": f"{prefix}{i}", "text": f"{prefix} text {i}"}
        row["labels"] = ["violence"] if i < unsafe else []
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")


def write_suite(tmp: Path) -> Path:
    write_set(tmp / "a.jsonl", 40, 20, "seta")
    write_set(tmp / "b.jsonl", 120, 30, "setb")
    suite = tmp / "suite.toml"
    suite.write_text(
        """
[suite]
name = "t"
title = "Prompt harm (test)"
task = "prompt"
models = ["model-good", "model-bad"]

[[suite.sets]]
name = "SetA"
dataset = "a.jsonl"
protocol = "seta"

[[suite.sets]]
name = "SetB"
dataset = "b.jsonl"

[settings]
concurrency = 8

[sim]
enabled = true
time_scale = 0.0

[sim.models."model-good"]
error_rate = 0.0

[sim.models."model-bad"]
error_rate = 0.3
seed = 3

[published."Paper model"]
SetA = 88.5
"""
    )
    return suite


def test_suite_runs_prints_weighted_f1_and_resumes(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    store = tmp_path / "runs.sqlite"
    runner = CliRunner()
    first = runner.invoke(
        cli, ["suite", str(suite), "--store", str(store), "--json", "--no-progress"]
    )
    assert first.exit_code == 0, first.stderr
    table = json.loads(first.stdout)
    assert [s["samples"] for s in table["sets"]] == [40, 120]
    rows = {r["model"]: r for r in table["rows"]}
    good = rows["model-good"]
    assert good["cells"]["SetA"]["f1"] == pytest.approx(100.0)
    assert good["weighted_f1"] == pytest.approx(100.0)
    bad = rows["model-bad"]
    a, b = bad["cells"]["SetA"]["f1"], bad["cells"]["SetB"]["f1"]
    assert a < 100 and b < 100
    assert bad["weighted_f1"] == pytest.approx((a * 40 + b * 120) / 160)
    prov = bad["cells"]["SetB"]["provenance"]
    assert prov["model"] == "model-bad" and prov["server"] == "simulated"
    assert prov["server_version"] is None and prov["policybench"]
    assert rows["Paper model"]["kind"] == "published"
    assert rows["Paper model"]["weighted_f1"] is None  # SetB not published
    with Store(store) as s:
        before = len(s.list_runs())
    assert before == 4
    again = runner.invoke(
        cli, ["suite", str(suite), "--store", str(store), "--json", "--no-progress"]
    )
    assert again.exit_code == 0, again.stderr
    assert again.stderr.count("skipped") == 4
    assert json.loads(again.stdout) == table
    with Store(store) as s:
        assert len(s.list_runs()) == before

    for fmt, marker in (
        ("markdown", "| model-bad | measured |"),
        ("html", "<td>model-bad</td>"),
        ("latex", r"\begin{tabular}"),
    ):
        out = tmp_path / f"table.{fmt}"
        result = runner.invoke(
            cli,
            [
                "suite",
                str(suite),
                "--store",
                str(store),
                "--no-run",
                "--format",
                fmt,
                "-o",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.stderr
        text = out.read_text()
        assert marker in text
        assert f"{b:.2f}*" in text.replace("$^{*}$", "*")
        assert "server simulated" in text and "model-bad / SetB" in text
        assert "88.50" in text
    terminal = runner.invoke(cli, ["suite", str(suite), "--store", str(store), "--no-run"])
    assert terminal.exit_code == 0 and "weighted avg." in terminal.stdout


def test_suite_bad_file_exits_2(tmp_path: Path) -> None:
    suite = write_suite(tmp_path)
    text = suite.read_text().replace('protocol = "seta"', 'protocol = "toxicchat0124"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    result = CliRunner().invoke(cli, ["suite", str(bad), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2
    assert "suite.sets[0].protocol" in result.stderr and "not 'toxicchat0124'" in result.stderr
    dup = tmp_path / "dup.toml"
    dup.write_text(suite.read_text().replace('name = "SetB"', 'name = "SetA"'))
    result = CliRunner().invoke(cli, ["suite", str(dup), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "'SetA' is given twice" in result.stderr


def test_example_suite_is_valid() -> None:
    # the shipped example names the six prompt-harm sets; its datasets are the user's
    # downloads, so only its shape is checked here
    import tomllib

    doc = tomllib.loads(EXAMPLE.read_text())
    names = [s["name"] for s in doc["suite"]["sets"]]
    assert names == [
        "ToxicChat",
        "OpenAI Moderation",
        "Aegis",
        "HarmBench",
        "SimpleSafetyTests",
        "WildGuardTest",
    ]
    assert set(doc["published"]["GuardReasoner-8B (published)"]) == set(names)
    from policybench.service.importers.recipes import RECIPES

    assert all(s["protocol"] in RECIPES for s in doc["suite"]["sets"])
    assert load_suite  # the loader is what validates a real one (test above)


async def test_server_version_reads_vllms_version_route() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from policybench.bench.suite_command import server_version

    async def version(_request: web.Request) -> web.Response:
        return web.json_response({"version": "0.11.0"})

    app = web.Application()
    app.router.add_get("/version", version)
    async with TestServer(app, host="127.0.0.1") as server:
        base = str(server.make_url("/v1"))
        assert await server_version(base) == "vLLM 0.11.0"
        assert await server_version(str(server.make_url("/nothing/v1"))) is None
