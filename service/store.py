"""The run store: SQLite (WAL), a versioned schema, one row per run and one per sample.

A run moves through ``started -> success | cancelled | error``.  Sample records are
written in batches inside transactions, keyed by ``(run_id, sample_id)``: a crash loses
at most the batch in flight, never tears a record, and a resumed run re-sends exactly
the samples that have no record.  Reports re-render stored records; they never re-run.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .errors import StoreError
from .record_tags import tags_of
from .summary import RunSummary

#: 2: ``record_tags`` (the viewer's indexed facets); a version-1 store is migrated on open.
SCHEMA_VERSION = 2
STATUSES = ("started", "success", "cancelled", "error", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    samples_total INTEGER NOT NULL,
    policy_set TEXT NOT NULL,
    policy_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    strategy TEXT NOT NULL,
    backend TEXT NOT NULL,
    version TEXT NOT NULL,
    git_rev TEXT,
    dispatch_seconds REAL NOT NULL DEFAULT 0,
    summary TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS records (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    sample_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, sample_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_seq ON records(run_id, seq);
-- schema 2: each record's facets (service/record_tags.py), written with the record
CREATE TABLE IF NOT EXISTS record_tags (
    run_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, tag, seq)
) WITHOUT ROWID;
-- the HTTP service's job queue (service/api/jobs.py); additive, schema version unchanged
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    error TEXT
);
-- rescores of stored runs (service/rescoring.py); additive, schema version unchanged.
-- A rescore's records are written first and its row last: without the row, they are
-- invisible, so a rescore that dies half-way leaves nothing half-written.
CREATE TABLE IF NOT EXISTS rescores (
    rescore_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    created_at REAL NOT NULL,
    output_format TEXT,
    version TEXT NOT NULL,
    git_rev TEXT,
    changed INTEGER NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rescores_run ON rescores(run_id, created_at);
CREATE TABLE IF NOT EXISTS rescore_records (
    rescore_id TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (rescore_id, sample_id)
) WITHOUT ROWID;
"""
JOB_STATUSES = ("queued", "running", "done", "cancelled", "failed")


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    created_at: float
    updated_at: float
    status: str
    config: dict[str, Any]
    dataset: str
    dataset_fingerprint: str
    samples_total: int
    policy_set: str
    policy_hash: str
    model: str
    strategy: str
    backend: str
    version: str
    git_rev: str | None
    dispatch_seconds: float
    summary: RunSummary | None
    error: str | None
    completed: int = 0


def default_store_path() -> Path:
    return Path.home() / ".local" / "share" / "policybench" / "runs.sqlite"


class Store:
    """One SQLite file.  One connection, shared by the event loop thread and worker threads
    (the record writer, a resume's replay) under one lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) == 1:
                self._migrate_from_1()
            elif int(row[0]) != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: store schema version {row[0]}, this policybench reads {SCHEMA_VERSION}"
                )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the run store: {exc}") from exc

    def _migrate_from_1(self) -> None:
        """Version 1 -> 2: tag the records already stored, in one transaction."""
        with self._transaction():
            last: tuple[str, int] = ("", -1)
            while True:
                rows = self._db.execute(
                    "SELECT run_id, seq, record FROM records WHERE (run_id, seq) > (?, ?)"
                    " ORDER BY run_id, seq LIMIT 5000",
                    last,
                ).fetchall()
                if not rows:
                    break
                self._db.executemany(
                    "INSERT OR IGNORE INTO record_tags(run_id, tag, seq) VALUES (?,?,?)",
                    [
                        (run_id, tag, seq)
                        for run_id, seq, rec in rows
                        for tag in tags_of(orjson.loads(rec))
                    ],
                )
                last = (rows[-1][0], rows[-1][1])
            self._db.execute(
                "UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),)
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT; on any failure ROLLBACK (if SQLite has not already rolled
        back, as it does on a full disk) and a :class:`StoreError` saying what SQLite said."""
        try:
            self._db.execute("BEGIN")
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{self.path}: cannot write the run store: {exc}") from exc
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------------------
    def create_run(
        self,
        *,
        run_id: str,
        config: dict[str, Any],
        dataset: str,
        dataset_fingerprint: str,
        samples_total: int,
        policy_set: str,
        policy_hash: str,
        model: str,
        strategy: str,
        backend: str,
        version: str,
        git_rev: str | None,
    ) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO runs(run_id, created_at, updated_at, status, config, dataset,"
                " dataset_fingerprint, samples_total, policy_set, policy_hash, model, strategy,"
                " backend, version, git_rev) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    now,
                    now,
                    "started",
                    orjson.dumps(config).decode(),
                    dataset,
                    dataset_fingerprint,
                    samples_total,
                    policy_set,
                    policy_hash,
                    model,
                    strategy,
                    backend,
                    version,
                    git_rev,
                ),
            )

    def set_status(
        self,
        run_id: str,
        status: str,
        *,
        summary: RunSummary | None = None,
        dispatch_seconds: float | None = None,
        error: str | None = None,
    ) -> None:
        if status not in STATUSES:
            raise ValueError(status)
        sets = ["status=?", "updated_at=?", "error=?"]
        args: list[Any] = [status, time.time(), error]
        if summary is not None:
            sets.append("summary=?")
            args.append(orjson.dumps(summary.to_json()).decode())
        if dispatch_seconds is not None:
            sets.append("dispatch_seconds=?")
            args.append(dispatch_seconds)
        args.append(run_id)
        with self._lock:
            self._db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id=?", args)

    def get_run(self, run_id: str) -> RunRow:
        with self._lock:
            row = self._db.execute(
                "SELECT r.*, (SELECT COUNT(*) FROM records WHERE run_id=r.run_id) FROM runs r"
                " WHERE r.run_id=? OR r.run_id LIKE ? ORDER BY created_at",
                (run_id, run_id + "%"),
            ).fetchall()
        exact = [r for r in row if r[0] == run_id]
        if exact:
            row = exact
        if not row:
            raise StoreError(f"no run {run_id!r} in {self.path}")
        if len(row) > 1:
            raise StoreError(f"run id prefix {run_id!r} is ambiguous in {self.path}")
        return _run_row(row[0])

    def list_runs(self) -> list[RunRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT r.*, (SELECT COUNT(*) FROM records WHERE run_id=r.run_id) FROM runs r"
                " ORDER BY created_at"
            ).fetchall()
        return [_run_row(r) for r in rows]

    # -- records ------------------------------------------------------------------------
    def insert_records(
        self,
        run_id: str,
        records: Sequence[tuple[str, int, str, bytes]],
        dispatch_seconds: float | None = None,
    ) -> None:
        """Insert ``(sample_id, seq, outcome, record_json)`` rows in one transaction.

        A sample already recorded keeps its first record (a retried batch after a crash
        cannot count a sample twice).  ``dispatch_seconds``, when given, is stored in the
        same transaction, so a run killed with ``kill -9`` keeps the dispatch time of the
        records it kept and a resumed run's samples/hour stays true.
        """
        if not records:
            return
        with self._lock, self._transaction():  # records, tags and dispatch time together
            # tags only for the records this batch adds (a re-sent one keeps its first)
            known = self._known_ids(run_id, [r[0] for r in records])
            tags = [
                (run_id, tag, seq)
                for sid, seq, _, rec in records
                if sid not in known
                for tag in tags_of(orjson.loads(rec))
            ]
            self._db.executemany(
                "INSERT OR IGNORE INTO records(run_id, sample_id, seq, outcome, record)"
                " VALUES (?,?,?,?,?)",
                [(run_id, sid, seq, outcome, rec.decode()) for sid, seq, outcome, rec in records],
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO record_tags(run_id, tag, seq) VALUES (?,?,?)", tags
            )
            if dispatch_seconds is None:
                self._db.execute(
                    "UPDATE runs SET updated_at=? WHERE run_id=?", (time.time(), run_id)
                )
            else:
                self._db.execute(
                    "UPDATE runs SET updated_at=?, dispatch_seconds=? WHERE run_id=?",
                    (time.time(), dispatch_seconds, run_id),
                )

    def _known_ids(self, run_id: str, ids: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            known.update(
                r[0]
                for r in self._db.execute(
                    "SELECT sample_id FROM records WHERE run_id=? AND sample_id IN"
                    f" ({','.join('?' * len(chunk))})",
                    (run_id, *chunk),
                )
            )
        return known

    def recorded_ids(self, run_id: str) -> set[str]:
        with self._lock:
            return {
                r[0]
                for r in self._db.execute("SELECT sample_id FROM records WHERE run_id=?", (run_id,))
            }

    def iter_records(self, run_id: str, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Stored records in dataset order, streamed."""
        last = -1
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT seq, record FROM records WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?",
                    (run_id, last, batch),
                ).fetchall()
            if not rows:
                return
            for _seq, rec in rows:
                yield orjson.loads(rec)
            last = rows[-1][0]

    def count_records(self, run_id: str) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM records WHERE run_id=?", (run_id,)
                ).fetchone()[0]
            )

    def records_after(self, run_id: str, seq: int, limit: int = 1000) -> list[tuple[int, str]]:
        """Up to ``limit`` stored ``(seq, record_json)`` rows after ``seq``, unparsed."""
        with self._lock:
            return self._db.execute(
                "SELECT seq, record FROM records WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?",
                (run_id, seq, limit),
            ).fetchall()

    # -- jobs (the HTTP service's queue, in submission order) ---------------------------
    def add_job(self, job_id: str, config: dict[str, Any]) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs(job_id, status, config, submitted_at, updated_at)"
                " VALUES (?,?,?,?,?)",
                (job_id, "queued", orjson.dumps(config).decode(), now, now),
            )

    def set_job_status(self, job_id: str, status: str, error: str | None = None) -> None:
        if status not in JOB_STATUSES:
            raise ValueError(status)
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status=?, updated_at=?, error=? WHERE job_id=?",
                (status, time.time(), error, job_id),
            )

    def get_job(self, job_id: str) -> JobRow | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id=?", (job_id,)
            ).fetchone()
        return None if row is None else _job_row(row)

    def list_jobs(self, statuses: Sequence[str] = ()) -> list[JobRow]:
        """Jobs in submission order, optionally only those with one of ``statuses``."""
        where = f" WHERE status IN ({','.join('?' * len(statuses))})" if statuses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs{where} ORDER BY seq", tuple(statuses)
            ).fetchall()
        return [_job_row(r) for r in rows]

    def has_run(self, run_id: str) -> bool:
        with self._lock:
            return (
                self._db.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone()
                is not None
            )

    # -- rescores (service/rescoring.py) ----------------------------------------------
    def insert_rescore_records(
        self, rescore_id: str, records: Sequence[tuple[str, int, str, bytes]]
    ) -> None:
        """``(sample_id, seq, outcome, record_json)`` rows of a rescore, in one transaction."""
        if not records:
            return
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO rescore_records(rescore_id, sample_id, seq, outcome,"
                " record) VALUES (?,?,?,?,?)",
                [(rescore_id, sid, seq, out, rec.decode()) for sid, seq, out, rec in records],
            )

    def finish_rescore(
        self,
        *,
        rescore_id: str,
        run_id: str,
        output_format: str | None,
        version: str,
        git_rev: str | None,
        changed: int,
        summary: RunSummary,
    ) -> None:
        """Record a rescore whose records are all written: from now on it is visible."""
        with self._lock:
            self._db.execute(
                "INSERT INTO rescores(rescore_id, run_id, created_at, output_format, version,"
                " git_rev, changed, summary) VALUES (?,?,?,?,?,?,?,?)",
                (
                    rescore_id,
                    run_id,
                    time.time(),
                    output_format,
                    version,
                    git_rev,
                    changed,
                    orjson.dumps(summary.to_json()).decode(),
                ),
            )

    def list_rescores(self, run_id: str) -> list[dict[str, Any]]:
        """A run's finished rescores, oldest first, each with its summary."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rescore_id, run_id, created_at, output_format, version, git_rev, changed,"
                " summary FROM rescores WHERE run_id=? ORDER BY created_at",
                (run_id,),
            ).fetchall()
        keys = ("rescore_id", "run_id", "created_at", "output_format", "version", "git_rev")
        return [
            {
                **dict(zip(keys, r[:6], strict=True)),
                "changed": r[6],
                "summary": RunSummary.load(orjson.loads(r[7])),
            }
            for r in rows
        ]

    def iter_rescore_records(self, rescore_id: str) -> Iterator[dict[str, Any]]:
        """A rescore's records (new verdict per sample) in dataset order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT record FROM rescore_records WHERE rescore_id=? ORDER BY seq",
                (rescore_id,),
            ).fetchall()
        for (rec,) in rows:
            yield orjson.loads(rec)


_JOB_COLUMNS = "seq, job_id, status, config, submitted_at, updated_at, error"


@dataclass(frozen=True, slots=True)
class JobRow:
    seq: int
    job_id: str
    status: str
    config: dict[str, Any]
    submitted_at: float
    updated_at: float
    error: str | None


def _job_row(row: Sequence[Any]) -> JobRow:
    seq, job_id, status, config, submitted_at, updated_at, error = row
    return JobRow(seq, job_id, status, orjson.loads(config), submitted_at, updated_at, error)


def _run_row(row: Iterable[Any]) -> RunRow:
    r = list(row)
    return RunRow(
        run_id=r[0],
        created_at=r[1],
        updated_at=r[2],
        status=r[3],
        config=orjson.loads(r[4]),
        dataset=r[5],
        dataset_fingerprint=r[6],
        samples_total=r[7],
        policy_set=r[8],
        policy_hash=r[9],
        model=r[10],
        strategy=r[11],
        backend=r[12],
        version=r[13],
        git_rev=r[14],
        dispatch_seconds=r[15],
        summary=RunSummary.load(orjson.loads(r[16])) if r[16] else None,
        error=r[17],
        completed=r[18],
    )
