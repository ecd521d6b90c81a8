"""``bench matrix``: validation with file and key, two simulated models that differ, cells
skipped when done (no request sent), partial cells resumed, and the shipped seed matrix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
import orjson
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.errors import ConfigError
from policybench.service.matrix import load_matrix
from policybench.service.matrix_runner import MatrixRunner, prepare_cells
from policybench.service.store import Store

from .conftest import BALANCED, REPO, SimFactory, seed_file

SIM_MATRIX = f"""
[matrix]
name = "two-sims"
models = ["model-a", "model-b"]
policies = ["minimal", "verbose"]
strategies = ["multi"]
datasets = ["{BALANCED}"]

[settings]
concurrency = 16

[sim]
time_scale = 0.0

[sim.models."model-a"]
error_rate = 0.5
seed = 1

[sim.models."model-b"]
error_rate = 0.05
seed = 2
"""


def write(tmp_path: Path, text: str, name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["matrix", *args, "--no-progress", "--json"])
    assert result.exit_code in (0, 130), result.output
    return result.exit_code, orjson.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[matrix]\nmodels = ['m']\n", "matrix.datasets"),
        ("[matrix]\nmodels = ['m']\ndatasets = ['balanced']\ncolour = 1\n", "matrix.colour"),
        (
            "[matrix]\nmodels = ['m']\ndatasets = ['balanced']\n[settings]\nconcurrency = 0\n",
            "settings.concurrency",
        ),
        (
            "[matrix]\nmodels = ['m']\ndatasets = ['balanced']\nstrategies = ['nope']\n",
            "matrix.strategies",
        ),
        (
            "[matrix]\nmodels = ['m']\ndatasets = ['balanced']\n[sim]\nerror_rate = 2\n",
            "sim.error_rate",
        ),
        (
            "[matrix]\nmodels = ['m']\ndatasets = ['balanced']\n[settings]\nmodel = 'x'\n",
            "settings.model",
        ),
        ("[matrix\nmodels = 1\n", "toml"),
    ],
)
def test_bad_matrix_file_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_matrix(path)
    assert str(path) in str(info.value)
    assert info.value.field == key
    result = CliRunner().invoke(cli, ["matrix", str(path), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2
    assert str(path) in result.stderr and key in result.stderr


def test_two_simulated_models_differ_and_a_second_pass_skips_every_cell(tmp_path: Path) -> None:
    path = write(tmp_path, SIM_MATRIX)
    store = str(tmp_path / "s.sqlite")
    code, first = invoke(str(path), "--store", store)
    assert code == 0
    assert [c["action"] for c in first["cells"]] == ["new"] * 4
    acc = {(c["model"], c["policies"]): c["multi_policy_accuracy"]["value"] for c in first["cells"]}
    assert acc[("model-b", "minimal")] > acc[("model-a", "minimal")] + 0.2
    with Store(store) as db:
        runs_before = [(r.run_id, r.completed) for r in db.list_runs()]
    assert len(runs_before) == 4 and all(n == 90 for _, n in runs_before)

    code, second = invoke(str(path), "--store", store)
    assert code == 0
    assert [c["action"] for c in second["cells"]] == ["skipped"] * 4
    assert [c["run_id"] for c in second["cells"]] == [c["run_id"] for c in first["cells"]]
    with Store(store) as db:
        assert [(r.run_id, r.completed) for r in db.list_runs()] == runs_before


def test_partial_cell_is_resumed_not_restarted(tmp_path: Path) -> None:
    path = write(tmp_path, SIM_MATRIX)
    store = tmp_path / "s.sqlite"
    _, first = invoke(str(path), "--store", str(store))
    victim = first["cells"][1]["run_id"]
    # what a crash leaves: a run still "started" with only part of its records
    with sqlite3.connect(store) as con:
        con.execute("UPDATE runs SET status='started', summary=NULL WHERE run_id=?", (victim,))
        con.execute("DELETE FROM records WHERE run_id=? AND seq >= 30", (victim,))
    code, second = invoke(str(path), "--store", str(store))
    assert code == 0
    actions = [c["action"] for c in second["cells"]]
    assert actions == ["skipped", "resumed", "skipped", "skipped"]
    assert second["cells"][1]["run_id"] == victim
    assert second["cells"][1]["multi_policy_accuracy"] == first["cells"][1]["multi_policy_accuracy"]
    with Store(store) as db:
        assert len(db.list_runs()) == 4
        assert db.get_run(victim).status == "success"
        assert db.count_records(victim) == 90


async def _served_requests(url: str) -> float:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url.removesuffix("/v1") + "/metrics") as r,
    ):
        text = await r.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("vllm:request_success_total{")
    )


async def test_second_pass_against_a_server_sends_no_request(
    sim: SimFactory, tmp_path: Path
) -> None:
    async with sim(datasets=[BALANCED], error_rate=0.2, also_serves=("model-a", "model-b")) as (
        url,
        _app,
    ):
        text = SIM_MATRIX.split("[sim]")[0].replace(
            "concurrency = 16", f'concurrency = 16\nbase_url = "{url}"'
        )
        spec = load_matrix(write(tmp_path, text))
        assert not spec.simulated
        with Store(tmp_path / "s.sqlite") as store:
            plan = await MatrixRunner(store).run(prepare_cells(spec))
            assert [o.action for o in plan] == ["new"] * 4
            served = await _served_requests(url)
            assert served == 4 * 90
            plan = await MatrixRunner(store).run(prepare_cells(spec))
            assert [o.action for o in plan] == ["skipped"] * 4
            assert await _served_requests(url) == served


def test_shipped_seed_matrix_is_the_seeds_experiments() -> None:
    spec = load_matrix(REPO / "examples" / "seed-matrix.toml")
    assert spec.models == ("gpt-oss:20b", "gpt-oss-safeguard:latest")
    assert spec.policies == ("minimal", "medium", "verbose")
    assert spec.strategies == ("gauntlet",)
    assert spec.datasets[0].endswith("wildguard_benchmark.json")
    assert not spec.simulated
    assert len(spec.cells) == 6
    assert all(c.config.base_url == "http://localhost:11434/v1" for c in spec.cells)


def test_seed_matrix_on_two_simulated_models_completes_then_sends_nothing(tmp_path: Path) -> None:
    seed_file("wildguard_benchmark.json")
    example = str(REPO / "examples" / "seed-matrix.toml")
    store = str(tmp_path / "s.sqlite")
    code, first = invoke(example, "--sim", "--store", store)
    assert code == 0 and first["simulated"]
    assert {c["action"] for c in first["cells"]} == {"new"}
    by_model: dict[str, set[float]] = {}
    for c in first["cells"]:
        by_model.setdefault(c["model"], set()).add(c["multi_policy_accuracy"]["value"])
    assert by_model["gpt-oss:20b"] != by_model["gpt-oss-safeguard:latest"]
    code, second = invoke(example, "--sim", "--store", store)
    assert code == 0
    assert {c["action"] for c in second["cells"]} == {"skipped"}


def test_ctrl_c_stops_the_matrix_with_130_and_a_rerun_resumes_it(tmp_path: Path) -> None:
    import json
    import signal
    import subprocess
    import sys
    import time

    text = SIM_MATRIX.replace('policies = ["minimal", "verbose"]', 'policies = ["minimal"]')
    text = text.replace("concurrency = 16", "concurrency = 2").replace(
        "time_scale = 0.0", "time_scale = 0.05"
    )
    path = write(tmp_path, text)
    db = tmp_path / "s.sqlite"
    code = "import sys; from policybench.bench.cli import main; sys.argv[0] = 'bench'; main()"
    args = [sys.executable, "-c", code, "matrix", str(path), "--store", str(db)]
    proc = subprocess.Popen(
        [*args, "--no-progress", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait (with a deadline) until the first cell has stored some records
            assert time.monotonic() < deadline and proc.poll() is None
            try:
                with sqlite3.connect(db, timeout=5) as con:
                    if con.execute("SELECT COUNT(*) FROM records").fetchone()[0] >= 10:
                        break
            except sqlite3.OperationalError:
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err[-2000:]
    cells = json.loads(out.strip().splitlines()[-1])["cells"]
    assert [(c["action"], c["status"]) for c in cells] == [("new", "cancelled"), ("pending", None)]
    assert "run the same command again" in err

    # speed and concurrency are operational: changing them still matches the cells
    path.write_text(text.replace("concurrency = 2", "concurrency = 16").replace("0.05", "0.0"))
    code2, again = invoke(str(path), "--store", str(db))
    assert code2 == 0
    assert [c["action"] for c in again["cells"]] == ["resumed", "new"]
    assert again["cells"][0]["run_id"] == cells[0]["run_id"]
    with Store(db) as store:
        assert [r.completed for r in store.list_runs()] == [90, 90]
