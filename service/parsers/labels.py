"""Shared machinery of the two-label families: ``0``/``1``, ``VIOLATION``/``SAFE``,
``VALID``/``INVALID``, ``Yes``/``No``.

Real models wrap the label: markdown (``**INVALID**``), a prefix that quotes both labels
(``Answer (VALID or INVALID): INVALID``), reasoning before a last-line answer, a category
code after it (``Classification: INVALID (DE3)``).  The label is looked for in this
order, and the first rule that finds one decides:

1. the last *labelled line* (``Answer:``, ``Classification:``, ``Verdict:`` ... then a label);
2. the first line, when it starts with a label (the answer given first);
3. the last line, when it is a label alone (the answer given after reasoning);
4. for word labels only: the labels written in capitals anywhere, when exactly one kind
   appears (``... so the content is a VIOLATION of the policy.``).

Nothing else: prose such as "this is not a violation" names no label and fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .base import EMPTY, ParseContext, Verdict, flagged, plain

_KEYS = (
    r"(?:final\s+)?(?:answer|classification|verdict|label|result|decision|output|prediction"
    r"|rating|assessment|judg(?:e)?ment|response)"
)
_SPLIT = re.compile(r"[\s,;:()\[\]{}|/]+")


@dataclass(frozen=True)
class LabelSet:
    """A two-label family: which words mean "violates" and which mean "does not"."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    #: Rule 4 (capitalised labels anywhere) applies: only for words unlikely in prose.
    capitals_anywhere: bool = True
    #: Rule 2 takes a first line that merely *starts* with the label ("SAFE. The ...");
    #: off for digits, where "1. The content ..." is a numbered list, not an answer.
    first_word: bool = True
    _label: str = field(init=False)
    _labelled: re.Pattern[str] = field(init=False)
    _first: re.Pattern[str] = field(init=False)
    _alone: re.Pattern[str] = field(init=False)
    _capitals: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        words = sorted((*self.positive, *self.negative), key=len, reverse=True)
        label = "(" + "|".join(re.escape(w) for w in words) + ")"
        set_ = object.__setattr__
        set_(self, "_label", label)
        set_(
            self,
            "_labelled",
            re.compile(
                rf"^[ \t\-]*{_KEYS}\b[^:\n]{{0,60}}[:=][ \t]*[\"'(\[]?[ \t]*{label}(?![\w])(.*)$",
                re.IGNORECASE | re.MULTILINE,
            ),
        )
        set_(self, "_first", re.compile(rf"^[\s\"'(\[]*{label}(?![\w])(.*)$", re.IGNORECASE))
        set_(
            self,
            "_alone",
            re.compile(rf"^[\s\"'(\[]*{label}[\s\"')\].!]*(?:\(.*\))?[\s.]*$", re.IGNORECASE),
        )
        set_(self, "_capitals", re.compile(rf"(?<![\w]){label}(?![\w])"))

    @property
    def names(self) -> str:
        return "/".join((*self.positive[:1], *self.negative[:1]))

    def find(self, content: str) -> tuple[str, str] | None:
        """``(label, rest of its line)`` by the rules above, or ``None``."""
        text = plain(content)
        matches = list(self._labelled.finditer(text))
        if matches:
            last = matches[-1]
            return last.group(1), last.group(2)
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return None
        first = (self._first if self.first_word else self._alone).match(lines[0])
        if first:
            return first.group(1), first.group(2) if self.first_word else ""
        last_line = self._alone.match(lines[-1])
        if last_line:
            return last_line.group(1), ""
        if self.capitals_anywhere:
            found = {m.group(1) for m in self._capitals.finditer(text) if m.group(1).isupper()}
            kinds = {self.is_positive(f) for f in found}
            if len(kinds) == 1:
                return found.pop(), ""
        return None

    def is_positive(self, label: str) -> bool:
        key = label.lower()
        return any(key == p.lower() for p in self.positive)

    def parse(self, content: str, ctx: ParseContext) -> Verdict:
        found = self.find(content)
        if found is None:
            return Verdict.fail(f"no {self.names} label in the answer")
        label, rest = found
        if not self.is_positive(label):
            return Verdict(EMPTY) if ctx.target is None else flagged(ctx, False)
        return flagged(ctx, True, named_categories(rest, ctx))


def named_categories(rest: str, ctx: ParseContext) -> frozenset[str]:
    """Category ids the model wrote after its label (``VIOLATION: hate_speech, violence``)."""
    if ctx.target is not None:
        return EMPTY
    out = set()
    for token in _SPLIT.split(rest):
        category = ctx.normalise(token) if token else None
        if category is not None:
            out.add(category)
    return frozenset(out)
