"""Every bad input is one clear line and exit 2, with nothing half-written, and no traceback.

The table of cases below is also the table in ``docs/bad-inputs.md``: a test checks that the
document lists every case with the exit code and message it really gives.  After adding a
case, regenerate the document's table with ``python -m tests.test_bad_inputs``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from policybench.service.atomic import atomic_path, remove_stale_temporaries
from policybench.service.errors import StoreError
from policybench.service.store import Store

from .conftest import REPO

BENCH = [sys.executable, "-m", "policybench.bench.cli"]
DOC = REPO / "docs" / "bad-inputs.md"
BEGIN, END = "<!-- cases: begin -->", "<!-- cases: end -->"
HUGE = "100000000000000000000"


@dataclass(frozen=True)
class Case:
    what: str
    argv: tuple[str, ...]  # after `bench`; {tmp} is the test's folder
    message: str  # a part of the one line on stderr


RUN = ("run", "--sim", "--sim-time-scale", "0", "--no-progress", "--limit", "2")
CASES = (
    Case("max_tokens beyond any model", (*RUN, "--dataset", "balanced", "--max-tokens", HUGE),
         "max-tokens: Input should be less than or equal to 1000000"),
    Case("a limit beyond 64 bits", ("run", "--sim", "--dataset", "balanced", "--limit", HUGE),
         "limit: Input should be less than or equal to 1000000000000"),
    Case("a simulator seed beyond 32 bits", (*RUN, "--dataset", "balanced", "--sim-seed", HUGE),
         "'--sim-seed'"),
    Case("an infinite timeout", (*RUN, "--dataset", "balanced", "--timeout", "inf"),
         "timeout: Input should be a finite number"),
    Case("a dataset path longer than a file name may be", (*RUN, "--dataset", "{tmp}/" + "a" * 300),
         "cannot read: File name too long"),
    Case("a missing dataset", (*RUN, "--dataset", "{tmp}/nope.jsonl"),
         "nope.jsonl: no such file, and not the name of a shipped dataset"),
    Case("a malformed dataset line", (*RUN, "--dataset", "{tmp}/bad.jsonl"),
         "bad.jsonl:2: "),
    Case("a missing chat template", (*RUN, "--dataset", "balanced", "--batch-size", "2",
         "--batch-endpoint", "completions", "--chat-template", "{tmp}/none.txt"),
         "chat-template: {tmp}/none.txt: not a shipped template"),
    Case("an unknown policy verbosity folder", (*RUN, "--dataset", "balanced", "--policies",
         "{tmp}/nopolicies@minimal"), "nopolicies: no such policy folder"),
    Case("a matrix file that is not UTF-8", ("matrix", "{tmp}/latin1.toml"),
         "latin1.toml: file: not UTF-8 text"),
    Case("a resume that changes what the run measures",
         ("run", "--resume", "{run}", "--dataset", "{tmp}/other.jsonl", "--model", "x"),
         "--resume: --dataset, --model cannot change on a resumed run"),
    Case("a resume after the dataset file changed",
         ("run", "--resume", "{run}", "--no-progress"),
         "not the same samples (the file changed since the run started)"),
    Case("a resume in a store that does not exist",
         ("run", "--resume", "x", "--store", "{tmp}/new/a/b/s.sqlite"),
         "s.sqlite: no run store here"),
)  # fmt: skip


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BENCH, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Files the cases refer to, and a finished run to resume (its dataset then edited)."""
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "bad.jsonl").write_text('{"id": "a", "text": "x", "labels": []}\n{"id": 1}\n')
    (tmp / "latin1.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    data = tmp / "mine.jsonl"
    data.write_text("".join(f'{{"id": "s{i}", "text": "t{i}", "labels": []}}\n' for i in range(4)))
    (tmp / "other.jsonl").write_text(data.read_text())
    store = tmp / "runs.sqlite"
    out = bench(*RUN, "--dataset", str(data), "--store", str(store), "--json")
    assert out.returncode == 0, out.stderr
    run_id = orjson.loads(out.stdout)["run_id"]
    data.write_text(data.read_text() + '{"id": "s9", "text": "new", "labels": []}\n')
    return {"tmp": str(tmp), "run": run_id, "store": str(store)}


def _argv(case: Case, workdir: dict[str, str]) -> list[str]:
    argv = [a.format(**workdir) for a in case.argv]
    if "--store" not in argv:
        argv += ["--store", workdir["store"]]
    return argv


@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case: Case, workdir: dict[str, str]) -> None:
    before = _files(workdir["tmp"])
    runs_before = _run_count(Path(workdir["store"]))
    out = bench(*_argv(case, workdir))
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert case.message.format(**workdir) in out.stderr, out.stderr
    assert _files(workdir["tmp"]) == before  # nothing created, not even a folder
    assert _run_count(Path(workdir["store"])) == runs_before  # no run row


def _files(folder: str) -> list[str]:
    """The folder's entries, less SQLite's own -wal/-shm companions of an open store."""
    return sorted(n for n in os.listdir(folder) if not n.endswith(("-wal", "-shm")))


def _run_count(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def test_shipped_policy_layout_with_a_verbosity_runs(tmp_path: Path) -> None:
    from policybench.service.resources import shipped

    spec = f"{shipped('policies')}@minimal"
    out = bench(*RUN, "--dataset", "balanced", "--policies", spec, "--store", f"{tmp_path}/s")
    assert out.returncode == 0, out.stderr


def test_a_resume_may_change_how_it_runs(workdir: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "text": "x", "labels": []}\n')
    store = str(tmp_path / "s.sqlite")
    first = bench(*RUN, "--dataset", str(data), "--store", store, "--json")
    run_id = orjson.loads(first.stdout)["run_id"]
    again = bench("run", "--resume", run_id, "--store", store, "--concurrency", "3", "--json")
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["run_id"] == run_id


def test_a_full_disk_is_a_store_error_and_the_records_stay_whole(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store._db.execute("PRAGMA max_page_count = 64")  # SQLite's own SQLITE_FULL, as on a full disk
    store.create_run(
        run_id="r",
        config={"dataset": "x"},
        dataset="x",
        dataset_fingerprint="f",
        samples_total=10_000,
        policy_set="p",
        policy_hash="h",
        model="m",
        strategy="multi",
        backend="simulated",
        version="test",
        git_rev=None,
    )
    big = b'{"text": "' + b"x" * 2000 + b'"}'
    written = 0
    with pytest.raises(StoreError, match="database or disk is full"):
        for i in range(1000):
            store.insert_records("r", [(f"s{i}", i, "correct", big)])
            written += 1
    assert store.recorded_ids("r") == {f"s{i}" for i in range(written)}  # no torn batch
    store.close()


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".out.jsonl.{dead.stdout.strip()}.tmp"
    stale.write_text("half")
    alive = tmp_path / f".out.jsonl.{os.getppid()}.tmp"  # a live process's: kept
    alive.write_text("busy")
    with atomic_path(target) as tmp:
        tmp.write_text("whole\n")
    assert target.read_text() == "whole\n"
    assert not stale.exists() and alive.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, "out.jsonl"])
    assert remove_stale_temporaries(target) == 0


def test_an_internal_error_is_one_line_and_a_log(tmp_path: Path) -> None:
    code = (
        "from policybench.bench.crash import guarded\n"
        "def boom():\n    raise RuntimeError('unexpected Bearer sk-abcdefghijklmnop')\n"
        "guarded(boom)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: internal error: RuntimeError")
    assert "sk-abcdefghijklmnop" not in out.stderr
    log = next((tmp_path / "policybench").glob("policybench-crash-*.log"))
    assert str(log) in lines[0]
    text = log.read_text()
    assert "Traceback" in text and "boom" in text and "sk-abcdefghijklmnop" not in text


def render_table() -> str:
    rows = ["| input | command | exit | message contains |", "| --- | --- | --- | --- |"]
    for case in CASES:
        shown = (a if len(a) < 60 else f"{{tmp}}/<{len(a) - 6} characters>" for a in case.argv)
        argv = " ".join(shown).replace("|", "\\|")
        rows.append(f"| {case.what} | `bench {argv}` | 2 | `{case.message}` |")
    return "\n".join(rows)


def test_the_documented_table_is_the_tested_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == render_table(), (
        "docs/bad-inputs.md is stale: run python -m tests.test_bad_inputs"
    )


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(f"{head}{BEGIN}\n{render_table()}\n{END}{rest.split(END, 1)[1]}")
