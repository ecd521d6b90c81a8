"""Files that appear complete or not at all, and no debris from a killed writer.

Every output policybench writes (exports, reports, imported datasets, batch files) is
written to a hidden temporary file beside its target, ``.NAME.PID.tmp``, and renamed
onto the target when complete.  A writer killed with ``kill -9`` cannot remove its
temporary file, so the next write of the same target removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterator
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(target: Path) -> int:
    """Remove ``.NAME.PID.tmp`` files beside ``target`` left by dead processes."""
    removed = 0
    prefix = f".{target.name}."
    for candidate in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = candidate.name[len(prefix) : -len(".tmp")]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed += 1
    return removed


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path to write; renamed onto ``target`` when the block completes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
