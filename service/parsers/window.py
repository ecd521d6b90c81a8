"""What a parser examines of an answer: a bounded window, so that parsing costs the same
for a 1 MB answer as for a 10 KB one.

A guard model's verdict sits at the end of its answer (after the reasoning) or, for the
formats that answer first (Llama Guard's ``safe``/``unsafe``), at its start.  Parsers
therefore read only :func:`tail` (the last :data:`TAIL_CHARS` characters, cut at a line
start) or :func:`head` (the first :data:`HEAD_CHARS`).  Everything a parser does on its
window is linear in the window's length (line splitting, anchored regular expressions
without nested quantifiers), so the cost of a parse is bounded by a constant whatever the
answer's length.  A failure on a longer answer says that only part of it was read.
"""

from __future__ import annotations

import re

#: Characters read from the end of an answer: a verdict lives in the last few kilobytes.
TAIL_CHARS = 4096
#: Characters read from the start, for formats whose verdict comes first.
HEAD_CHARS = 1024
#: A tail is cut at a line start when one lies within this many characters of its start,
#: so that it never begins inside a JSON string or halfway through a label.
_ALIGN = TAIL_CHARS // 2
#: Marks a window that starts mid-line.
PARTIAL = "\u2026"
_LINE = re.compile(r"\S[^\n\r]*")


def tail(text: str) -> str:
    """The last :data:`TAIL_CHARS` characters of ``text``, starting at a line start if
    one is near; the whole text when it is shorter."""
    if len(text) <= TAIL_CHARS:
        return text
    cut = text[-TAIL_CHARS:]
    if text[-TAIL_CHARS - 1] == "\n":
        return cut
    newline = cut.find("\n", 0, _ALIGN)
    if newline >= 0:
        return cut[newline + 1 :]
    # No line start near: the window begins mid-line, and is marked so that nothing
    # anchored at a line start (``Answer:``, a label alone) matches its partial first line.
    return PARTIAL + cut


def head(text: str) -> str:
    """The first :data:`HEAD_CHARS` characters of ``text``; when the text goes on, only
    its complete lines (a first line cut off might go on ``SAFE ... to say``)."""
    if len(text) <= HEAD_CHARS:
        return text
    cut = text[:HEAD_CHARS]
    return cut[: cut.rfind("\n") + 1] if text[HEAD_CHARS] != "\n" else cut


def lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, stripped.  One regex pass: each match starts at a
    non-space character and runs to the end of its line, so blank runs cost nothing."""
    return [m.group().rstrip() for m in _LINE.finditer(text)]


def truncation_note(content: str) -> str | None:
    """What to add to a failure's reason when the parser did not read the whole answer."""
    if len(content) <= TAIL_CHARS:
        return None
    return (
        f"an answer of {len(content):,} characters: only its first {HEAD_CHARS:,} and last"
        f" {TAIL_CHARS:,} were read"
    )
