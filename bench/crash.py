"""No traceback reaches a user: an unexpected error is one line on stderr and a log file.

Every expected failure is a :class:`~policybench.bench.common.BenchError` with its own exit
code.  Anything else is a bug; :func:`guarded` prints ``error: internal error: ...`` with the
path of a log holding the traceback (for a bug report), and exits 1.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

# Nothing of the engine is imported until something went wrong: ``bench --help`` stays light.


def crash_log_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME")
    return Path(state) / "policybench" if state else Path(tempfile.gettempdir())


def write_crash_log(exc: BaseException) -> Path | None:
    """The traceback in a new file; ``None`` when even that cannot be written."""
    from policybench.service.redaction import redact

    text = redact("".join(traceback.format_exception(exc)))
    name = f"policybench-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        folder = crash_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(f"argv: {redact(' '.join(sys.argv))}\n{text}", encoding="utf-8")
    except OSError:
        return None
    return path


def guarded(entry: Callable[[], object]) -> None:
    """Run the CLI; turn an unexpected exception into one line and exit code 1."""
    try:
        entry()
    except KeyboardInterrupt:  # outside a run's own handling (which exits 130 itself)
        from .common import EXIT_INTERRUPTED

        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        from policybench.service.redaction import redact

        from .common import EXIT_FAILURE

        path = write_crash_log(exc)
        where = f"details in {path}" if path else "no log could be written"
        message = (
            redact(f"{type(exc).__name__}: {exc}").splitlines()[0][:300]
            if str(exc)
            else type(exc).__name__
        )
        sys.stderr.write(f"error: internal error: {message} ({where})\n")
        sys.exit(EXIT_FAILURE)
