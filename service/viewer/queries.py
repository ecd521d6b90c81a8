"""The viewer's reads of the run store: paged, indexed, never a whole run in memory.

A read-only SQLite connection of its own (WAL lets it read while a run writes).  Every
record filter is a conjunction of tags (:mod:`..record_tags`): the rarest tag drives an
index range in dataset order (``seq``), the others are primary-key probes, so a page of
50 and its total count are index work.  Text search is the one scan: it reads records in
``seq`` order within the tag filter and stops at a page (its total is not counted).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import StoreError
from ..store import RunRow, _run_row

PAGE = 50
#: a filter of several tags is counted with the page only if its rarest tag has at most
#: this many rows; above, the page comes first and the count from ``count`` afterwards
COUNT_BUDGET = 50_000
#: records a text search reads per request at most; then it says how far it got
SEARCH_WINDOW = 100_000


def _like(text: str) -> str:
    """A LIKE pattern for ``text`` anywhere (case-insensitive for ASCII), ``\\`` escaping."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True, slots=True)
class Filter:
    """What a samples page asks for: tags that must all be present, and optional text."""

    tags: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    total: int | None  # None for a text search (not counted)
    next_after: int | None  # seq to continue after, None on the last page
    after: int = -1
    #: a text search that stopped at its window: the last ``seq`` it read
    searched_to: int | None = None
    #: the count was left for a second request (a large multi-tag filter)
    deferred: bool = False


#: A finished run's record count is its summary's ``completed`` (the records it was
#: scored from); only a run without one (running, or killed) is counted, an index count.
_RUNS = (
    "SELECT r.*, CASE WHEN r.status != 'started' AND r.summary IS NOT NULL"
    " AND json_extract(r.summary, '$.completed') IS NOT NULL"
    " THEN json_extract(r.summary, '$.completed')"
    " ELSE (SELECT COUNT(*) FROM records WHERE run_id=r.run_id) END FROM runs r"
)


class Queries:
    """Reads of one store file, safe to call from worker threads (one connection, locked)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.execute("PRAGMA query_only=1")
            self._db.execute("SELECT 1 FROM record_tags LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read the run store: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- runs ----------------------------------------------------------------------------
    def runs(self) -> list[RunRow]:
        return [_run_row(r) for r in self._all(_RUNS + " ORDER BY created_at DESC")]

    def run(self, run_id: str) -> RunRow | None:
        rows = self._all(_RUNS + " WHERE run_id=?", (run_id,))
        return _run_row(rows[0]) if rows else None

    def tag_count(self, run_id: str, tag: str) -> int:
        return int(
            self._all("SELECT COUNT(*) FROM record_tags WHERE run_id=? AND tag=?", (run_id, tag))[
                0
            ][0]
        )

    def tag_counts(self, run_id: str, tags: Sequence[str]) -> dict[str, int]:
        return {t: self.tag_count(run_id, t) for t in tags}

    def tag_values(self, run_id: str, prefix: str, limit: int = 200) -> list[str]:
        """Distinct tags of a run starting with ``prefix``, by index skip-scan (one probe
        per distinct tag, no record read)."""
        out: list[str] = []
        op, last = ">=", prefix
        while len(out) < limit:
            rows = self._all(
                f"SELECT MIN(tag) FROM record_tags WHERE run_id=? AND tag{op}? AND tag<?",
                (run_id, last, prefix + "\U0010ffff"),
            )
            if not rows or rows[0][0] is None:
                break
            last, op = rows[0][0], ">"
            out.append(last)
        return out

    # -- records -------------------------------------------------------------------------
    def page(
        self,
        run_id: str,
        flt: Filter,
        after: int = -1,
        limit: int = PAGE,
        records: int | None = None,
    ) -> Page:
        """One page of ``run_id``'s records matching ``flt``, in dataset order after ``after``
        (``records``: the run's record count when known, the total of an empty filter)."""
        counts = self.tag_counts(run_id, list(dict.fromkeys(flt.tags)))
        tags = sorted(counts, key=lambda t: counts[t])
        searched_to = None
        if not tags:
            sql = "SELECT seq, record FROM records INDEXED BY records_seq WHERE run_id=? AND seq>?"
            args: list[Any] = [run_id, after]
            if flt.text:  # a bounded scan: at most SEARCH_WINDOW records by seq
                sql += " AND seq<=? AND record LIKE ? ESCAPE '\\'"
                args += [after + SEARCH_WINDOW, _like(flt.text)]
            rows = self._all(sql + " ORDER BY seq LIMIT ?", (*args, limit + 1))
            if flt.text and len(rows) <= limit:
                hi = self._all(
                    "SELECT MAX(seq) FROM records INDEXED BY records_seq WHERE run_id=?", (run_id,)
                )[0][0]
                if hi is not None and after + SEARCH_WINDOW < hi:
                    searched_to = after + SEARCH_WINDOW
        else:
            rows, searched_to = self._tagged(run_id, tags, flt.text, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        deferred = False
        if flt.text:
            total = None
        elif not tags:
            total = records if records is not None else self.count(run_id, flt)
        elif len(tags) == 1:
            total = counts[tags[0]]
        elif counts[tags[0]] <= COUNT_BUDGET:
            total = self.count(run_id, flt)
        else:
            total, deferred = None, True
        next_after = rows[-1][0] if more and rows else searched_to
        return Page(
            rows=[orjson.loads(rec) for _, rec in rows],
            total=total,
            next_after=next_after,
            after=after,
            searched_to=None if more else searched_to,
            deferred=deferred,
        )

    def _tagged(
        self, run_id: str, tags: Sequence[str], text: str, after: int, want: int
    ) -> tuple[list[tuple[int, str]], int | None]:
        """Records with every tag (the rarest's index range drives, the others are
        primary-key probes), then read by ``seq``: two index-only steps per chunk."""
        sql = "SELECT t.seq FROM record_tags t WHERE t.run_id=? AND t.tag=? AND t.seq>?"
        for _ in tags[1:]:
            sql += (
                " AND EXISTS (SELECT 1 FROM record_tags u WHERE u.run_id=t.run_id"
                " AND u.tag=? AND u.seq=t.seq)"
            )
        sql += " ORDER BY t.seq LIMIT ?"
        out: list[tuple[int, str]] = []
        chunk = want if not text else 2000
        scanned = 0
        while len(out) < want:
            if text and scanned >= SEARCH_WINDOW:
                return out, after  # the window is spent: say how far the search got
            seqs = [r[0] for r in self._all(sql, (run_id, tags[0], after, *tags[1:], chunk))]
            if not seqs:
                break
            marks = ",".join("?" * len(seqs))
            read = f"SELECT seq, record FROM records INDEXED BY records_seq WHERE run_id=? AND seq IN ({marks})"
            args: list[Any] = [run_id, *seqs]
            if text:
                read += " AND record LIKE ? ESCAPE '\\'"
                args.append(_like(text))
            out.extend(self._all(read + " ORDER BY seq", args))
            scanned += len(seqs)
            if len(seqs) < chunk:
                break
            after = seqs[-1]
        return out[:want], None

    def count(self, run_id: str, flt: Filter) -> int:
        if not flt.tags:
            return int(self._all("SELECT COUNT(*) FROM records WHERE run_id=?", (run_id,))[0][0])
        first, *rest = self._by_rarity(run_id, flt.tags)
        sql = "SELECT COUNT(*) FROM record_tags t WHERE t.run_id=? AND t.tag=?"
        args: list[Any] = [run_id, first]
        for tag in rest:
            sql += (
                " AND EXISTS (SELECT 1 FROM record_tags u WHERE u.run_id=t.run_id"
                " AND u.tag=? AND u.seq=t.seq)"
            )
            args.append(tag)
        return int(self._all(sql, args)[0][0])

    def newest(self, run_id: str, tag: str, limit: int = 10) -> list[dict[str, Any]]:
        """The ``limit`` records with ``tag`` and the highest ``seq`` (newest in a live run)."""
        seqs = [
            r[0]
            for r in self._all(
                "SELECT seq FROM record_tags WHERE run_id=? AND tag=? ORDER BY seq DESC LIMIT ?",
                (run_id, tag, limit),
            )
        ]
        return [orjson.loads(rec) for _, rec in reversed(self._by_seq(run_id, seqs))]

    def _by_seq(self, run_id: str, seqs: Sequence[int]) -> list[tuple[int, str]]:
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        return self._all(
            f"SELECT seq, record FROM records INDEXED BY records_seq WHERE run_id=? AND seq IN ({marks}) ORDER BY seq",
            (run_id, *seqs),
        )

    def records_after(self, run_id: str, seq: int, limit: int) -> list[tuple[int, str]]:
        """Up to ``limit`` ``(seq, record_json)`` rows after ``seq``, unparsed."""
        return self._all(
            "SELECT seq, record FROM records INDEXED BY records_seq WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?",
            (run_id, seq, limit),
        )

    def record(self, run_id: str, seq: int) -> dict[str, Any] | None:
        rows = self._all(
            "SELECT record FROM records INDEXED BY records_seq WHERE run_id=? AND seq=?",
            (run_id, seq),
        )
        return orjson.loads(rows[0][0]) if rows else None

    def record_by_id(self, run_id: str, sample_id: str) -> dict[str, Any] | None:
        rows = self._all(
            "SELECT record FROM records WHERE run_id=? AND sample_id=?", (run_id, sample_id)
        )
        return orjson.loads(rows[0][0]) if rows else None

    def timeline(self, run_id: str, points: int = 400) -> list[tuple[float, float | None, int]]:
        """``(finished_at, latency, weight)`` of every k-th record (k so at most ``points``):
        the shape of latency and throughput over the run, read by index from ~points rows."""
        hi = self._all(
            "SELECT MAX(seq) FROM records INDEXED BY records_seq WHERE run_id=?", (run_id,)
        )[0][0]
        if hi is None:
            return []
        step = max(1, (int(hi) + 1) // points)
        out: list[tuple[float, float | None, int]] = []
        for _, raw in self._by_seq(run_id, range(0, int(hi) + 1, step)):
            rec = orjson.loads(raw)
            if rec.get("finished_at") is not None:
                out.append((float(rec["finished_at"]), rec.get("latency"), step))
        out.sort()
        return out

    def discordant(
        self, run_a: str, run_b: str, a_right: bool, after: int = -1, limit: int = PAGE
    ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], int | None]:
        """Samples only one run got right (``a_right``: A right and B wrong), paired by
        sample id, in the right run's dataset order; the page and the seq to continue
        after.  The right run's ``o:correct`` range is read in chunks, the other run's
        records of those samples by primary key."""
        right, wrong = (run_a, run_b) if a_right else (run_b, run_a)
        pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
        last_seq = after
        more = False
        while True:
            seqs = [
                r[0]
                for r in self._all(
                    "SELECT seq FROM record_tags WHERE run_id=? AND tag='o:correct' AND seq>?"
                    " ORDER BY seq LIMIT 2000",
                    (right, last_seq),
                )
            ]
            if not seqs:
                break
            mine = {
                rec["sample_id"]: rec
                for rec in map(orjson.loads, (r for _, r in self._by_seq(right, seqs)))
            }
            marks = ",".join("?" * len(mine))
            theirs = {
                sid: orjson.loads(rec)
                for sid, rec in self._all(
                    f"SELECT sample_id, record FROM records WHERE run_id=? AND sample_id IN ({marks})"
                    " AND outcome IN ('wrong','parse_failure','error')",
                    (wrong, *mine),
                )
            }
            for sid, rec in sorted(mine.items(), key=lambda kv: kv[1]["seq"]):
                if sid in theirs:
                    if len(pairs) == limit:
                        more = True
                        break
                    pairs.append((rec, theirs[sid]))
                    last_seq = rec["seq"]
            if more or len(seqs) < 2000:
                break
            if len(pairs) < limit:
                last_seq = seqs[-1]
        if not a_right:
            pairs = [(b, a) for a, b in pairs]
        return pairs, last_seq if more else None

    # -- helpers -------------------------------------------------------------------------
    def _by_rarity(self, run_id: str, tags: Sequence[str]) -> list[str]:
        unique = list(dict.fromkeys(tags))
        if len(unique) < 2:
            return unique
        counts = self.tag_counts(run_id, unique)
        return sorted(unique, key=lambda t: counts[t])
