"""Where the shipped data lives.

``policies/`` and ``datasets/`` sit beside ``service/`` both in a source checkout and in
an installed wheel (as ``policybench/policies``), so they are found relative to this
package, never through the current directory.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def shipped(name: str) -> Path:
    """Path of a shipped data folder: ``"policies"`` or ``"datasets"``."""
    path = _ROOT / name
    if not path.is_dir():  # pragma: no cover - a broken install
        raise FileNotFoundError(f"shipped data folder {name!r} missing at {path}")
    return path
