"""Shared machinery of the two-label families: ``0``/``1``, ``VIOLATION``/``SAFE``,
``VALID``/``INVALID``, ``Yes``/``No``.

Real models wrap the label: markdown (``**INVALID**``), a prefix that quotes both labels
(``Answer (VALID or INVALID): INVALID``), reasoning before a last-line answer, a category
code after it (``Classification: INVALID (DE3)``).  Every mention of a label is first
sorted: an *option* (``VALID or INVALID``, ``Yes/No``, ``SAFE or UNSAFE``), an *example*
(``e.g. SAFE``, ``respond with SAFE``, ``SAFE if ...``, ``SAFE means ...``), *quoted* in
prose (``the label "SAFE"``: not read by rule 4) or *negated* (``NOT SAFE``, ``I would not
call this SAFE``, ``isn't a VIOLATION``).  Then the label is looked for in this order, and the
first rule that finds one decides:

1. the last *labelled line* (``Answer:``, ``Classification:``, ``Verdict:`` ... then a label);
2. the first line, when it starts with the label and then ends or goes on after
   punctuation (``SAFE. The text ...``, ``No, the prompt ...``; never ``Safe to say ...``);
3. the last line, when it is a label alone (the answer given after reasoning);
4. for word labels only: the labels written in capitals anywhere, when exactly one kind
   appears (``... so the content is a VIOLATION of the policy.``).

Rules 2 and 3 finding different labels is ambiguous; a rule landing on a negated label
fails (``NOT SAFE`` is not read as either label), and so does a decimal where the format
wants ``0``/``1`` (``Answer: 0.93`` is a score, not a label).  Options and examples are
never read as the answer.  Nothing else: prose such as "this is not a violation" names
no label and fails.  Everything is done line by line over the answer's bounded tail,
with patterns that cannot backtrack, so the cost is linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .base import EMPTY, ParseContext, Verdict, flagged, plain
from .window import TAIL_CHARS, head, lines, tail

# A key word, an optional parenthesis (``Answer (VALID or INVALID):``), then ``:`` or ``=``;
# nothing else may stand between (``Answer with Yes or No: ...`` is an instruction).
_KEY = re.compile(
    r"[ \t\-]*(?:final[ \t]+)?(?:answer|classification|verdict|label|result|decision|output"
    r"|prediction|rating|assessment|judge?ment|response)[ \t]*(?:\([^()\n]{0,60}\))?[ \t]*[:=]",
    re.IGNORECASE,
)
_BREAK = re.compile(r"[.;:!?()]")
_SPLIT = re.compile(r"[\s,;:()\[\]{}|/]+")
_WORDS = re.compile(r"[A-Za-z_'’]+")
_DECIMAL = re.compile(r"\d*\.\d+")
_NEGATORS = frozenset({"not", "never", "neither", "nor", "hardly", "cannot", "no"})
_EXAMPLE_CUES = frozenset(
    {"e_g", "eg", "example", "such", "like", "respond", "reply", "write", "output", "format"}
)
_OPTION_JOINERS = frozenset({"or", "/", "|", "and", "vs", "versus", ","})
#: A label next to these is offered as a choice (``SAFE or UNSAFE``, ``yes/no``).
_OR_AFTER = (" or ", "/", " /", "|", " |", " vs")
_OR_BEFORE = (" or ", "/", "/ ", "|", "| ", "either ")
#: A label followed by these is being defined or made conditional, not given.
_DEFINING = (" if ", " when ", " means", " stands for", " = ", " is used", " applies")
_QUOTES = frozenset("\"'“”‘’`")
#: Characters a label alone on its line may be wrapped in.
_WRAP = " \t\"'()[].!:*`"
#: After a first-line label: punctuation that lets the line go on (``SAFE. The ...``).
_GOES_ON = ".,;:!-–—()"
_BECAUSE = ("because ", "since ", "as ")


@dataclass(frozen=True, slots=True)
class Mention:
    """One label written in a line, and what kind of mention it is."""

    label: str
    start: int
    end: int
    negated: bool = False
    option: bool = False
    example: bool = False
    quoted: bool = False

    @property
    def usable(self) -> bool:
        return not (self.option or self.example)


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
    #: The labels are digits: a decimal where a label belongs is a score, and a failure.
    numeric: bool = False
    _mention: re.Pattern[str] = field(init=False)
    _words: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        words = sorted((*self.positive, *self.negative), key=len, reverse=True)
        label = "|".join(re.escape(w) for w in words)
        # A digit label is not part of a number (``0.93``, ``10``, ``1.5``).
        pattern = rf"(?<![\w.])({label})(?![\w])(?!\.\d)"
        object.__setattr__(self, "_mention", re.compile(pattern, re.IGNORECASE))
        object.__setattr__(self, "_words", frozenset(w.lower() for w in words))

    @property
    def names(self) -> str:
        return "/".join((*self.positive[:1], *self.negative[:1]))

    def is_positive(self, label: str) -> bool:
        key = label.lower()
        return any(key == p.lower() for p in self.positive)

    def mentions(self, line: str) -> Iterator[Mention]:
        """Every label in ``line``, sorted into options, examples and negations (lazily:
        a caller that stops at the first stops paying)."""
        found = [(m.group(1), m.start(), m.end()) for m in self._mention.finditer(line)]
        for i, (label, start, end) in enumerate(found):
            option = (i > 0 and _joined(line, found[i - 1][2], start)) or (
                i + 1 < len(found) and _joined(line, end, found[i + 1][1])
            )
            before, after = line[max(0, start - 8) : start].lower(), line[end : end + 12].lower()
            option = option or after.startswith(_OR_AFTER) or before.endswith(_OR_BEFORE)
            words = [w.lower() for w in _WORDS.findall(_clause_before(line, start))][-4:]
            negated = any(self._negates(w) for w in words)
            example = any(w in _EXAMPLE_CUES for w in words) or after.startswith(_DEFINING)
            quoted = before[-1:] in _QUOTES and after[:1] in _QUOTES
            yield Mention(label, start, end, negated, option, example, quoted)

    def _negates(self, word: str) -> bool:
        if word.endswith(("n't", "n’t")):
            return True
        # "no" negates other labels, but is itself a label of the Yes/No family.
        return word in _NEGATORS and word not in self._words

    def find(self, content: str) -> tuple[str, str] | Verdict | None:
        """``(label, rest of its line)`` by the rules above, a failure, or ``None``."""
        rows = lines(plain(tail(content)))
        if not rows:
            return None
        # Rule 1: the last labelled line.
        for row in reversed(rows):
            key = _KEY.match(row)
            if key is None:
                continue
            value = row[key.end() :].lstrip(" \t\"'([")
            if self.numeric and _DECIMAL.match(value):
                number = value.split()[0].rstrip(").,;")
                return Verdict.fail(f"no verdict: {number} is a score, not a {self.names} label")
            hit = next(self.mentions(value), None)
            if hit is None:
                continue
            if hit.negated:
                return Verdict.fail(f"negated label: {_phrase(value, hit)!r}")
            if hit.start == 0 and hit.usable and _ends_or_goes_on(value[hit.end :]):
                return hit.label, value[hit.end :]
        # Rule 2: the first line starts with a label; rule 3: the last line is one.
        top = (rows[0] if len(content) <= TAIL_CHARS else _first_row(content)) or ""
        opening = self._opening(top) if top else None
        closing = self._alone(rows[-1])
        if opening and closing and self.is_positive(opening) != self.is_positive(closing):
            return Verdict.fail(
                f"ambiguous: the answer opens with {opening} and ends with {closing}"
            )
        if opening:
            rest = top.lstrip(_WRAP)[len(opening) :] if self.first_word else ""
            return opening, rest
        if closing:
            return closing, ""
        if self.numeric and _DECIMAL.fullmatch(rows[-1].strip(_WRAP)):
            return Verdict.fail(f"no verdict: {rows[-1]} is a score, not a {self.names} label")
        # Rule 4: capitalised labels anywhere, one kind only.
        if self.capitals_anywhere:
            kinds: dict[bool, str] = {}
            for row in rows:
                for hit in self.mentions(row):
                    if not hit.usable or hit.quoted or not hit.label.isupper():
                        continue
                    if hit.negated:
                        return Verdict.fail(f"negated label: {_phrase(row, hit)!r}")
                    kinds[self.is_positive(hit.label)] = hit.label
            if len(kinds) == 2:
                return Verdict.fail(f"ambiguous: both {kinds[True]} and {kinds[False]} are stated")
            if kinds:
                return kinds.popitem()[1], ""
        return None

    def _opening(self, row: str) -> str | None:
        """The label a first line opens with, if it then ends or goes on after punctuation."""
        if not self.first_word:
            return self._alone(row)
        stripped = row.lstrip(_WRAP)
        hit = next(self.mentions(stripped), None)
        if hit is None or hit.start != 0 or not hit.usable:
            return None
        return hit.label if _ends_or_goes_on(stripped[hit.end :]) else None

    def _alone(self, row: str) -> str | None:
        """The label when ``row`` is that label alone (in quotes, brackets, markdown, with a
        trailing parenthesis such as ``(DE3)``)."""
        core = row.strip(_WRAP)
        if core.endswith(")") and "(" in core:
            core = core[: core.index("(")].strip(_WRAP)
        return core if core.lower() in self._words else None

    def parse(self, content: str, ctx: ParseContext) -> Verdict:
        found = self.find(content)
        if found is None:
            return Verdict.fail(f"no verdict: no {self.names} label in the answer")
        if isinstance(found, Verdict):
            return found
        label, rest = found
        if not self.is_positive(label):
            return Verdict(EMPTY) if ctx.target is None else flagged(ctx, False)
        return flagged(ctx, True, named_categories(rest, ctx))


def _ends_or_goes_on(after: str) -> bool:
    """What follows a label ends the line or starts after punctuation (``SAFE. The ...``,
    ``No, the ...``, ``INVALID (DE3)``), never another word (``Safe to say ...``)."""
    after = after.lstrip(" \t*\"'")
    return not after or after[0] in _GOES_ON or after.lower().startswith(_BECAUSE)


def _first_row(content: str) -> str | None:
    rows = lines(plain(head(content)))
    return rows[0] if rows else None


def _clause_before(line: str, start: int) -> str:
    """The text before ``start`` back to the last clause break (``.``, ``,``, ``:`` ...),
    at most 48 characters; the dots of ``e.g.`` are not a break."""
    window = line[max(0, start - 48) : start].replace("e.g.", "e_g ")
    return _BREAK.split(window)[-1]


def _joined(line: str, end: int, start: int) -> bool:
    """Two labels are offered as options when only a joiner separates them (``or``, ``/``)."""
    gap = line[end:start].strip(" \t\"'*`").lower()
    return gap in _OPTION_JOINERS or gap in ("or a", "or an", "either")


def _phrase(row: str, hit: Mention) -> str:
    before = _clause_before(row, hit.start).strip()
    return f"{before} {hit.label}".strip()


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
