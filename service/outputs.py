"""Scoring answers a model has already generated: a file of outputs against a dataset,
with no server.

Published tables can be checked from the raw generations their authors publish (e.g.
GuardReasoner's ``generated_predictions.jsonl``), and a user's old logs re-scored.
:class:`OutputAnswers` is a chat client whose answers come from the file, so a scored
file goes through the very same runner as a live run: the same parsers, the same scorer,
one record per sample in the store (its backend ``scored-outputs``), so ``bench report``,
``compare`` and ``rescore`` work on it.  Nothing is timed: a scored file has no
throughput.

An output row is matched to its sample by ``id_field`` when given, else by position (the
n-th row answers the dataset's n-th sample; the counts must then be equal).  Where a row
also carries the prompt it answered (``prompt_field``, ``prompt`` by default), the sample's
text must occur in it, so two files out of step stop with an error instead of scoring
every answer against the wrong gold.  A sample with no row becomes an error record, never
a lost sample.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import conventions
from .client_types import Completion, NativeRequest, UserInput, transcript
from .conventions import ConventionScore
from .datasets import Sample, iter_samples, read_header
from .errors import DatasetError, ErrorKind, RequestError
from .importers.sources import read_rows
from .prompts import conversation
from .runner import Prepared, Run, RunResult
from .store import Store
from .tasks import TASKS, Task

TASK_NAMES = {t.value for t in TASKS}

#: Where the answer is in common output files, first found wins (GuardReasoner: ``predict``).
ANSWER_FIELDS = ("predict", "prediction", "output", "answer", "content", "generation")


@dataclass(frozen=True, slots=True)
class OutputsFile:
    """Which file, and how its rows name their answer and their sample."""

    path: Path
    answer_field: str | None = None
    id_field: str | None = None
    prompt_field: str = "prompt"


def _answer_field(spec: OutputsFile, first: dict[str, Any], line: int | None) -> str:
    if spec.answer_field is not None:
        if spec.answer_field not in first:
            raise DatasetError(
                spec.path,
                line,
                spec.answer_field,
                f"missing column (the file has: {', '.join(first)})",
            )
        return spec.answer_field
    for name in ANSWER_FIELDS:
        if name in first:
            return name
    raise DatasetError(
        spec.path,
        line,
        None,
        f"no answer column ({', '.join(ANSWER_FIELDS)}; or --answer-field): "
        f"the file has {', '.join(first)}",
    )


def read_answers(spec: OutputsFile, samples: Iterator[Sample]) -> Iterator[tuple[Sample, Any]]:
    """Each sample with its answer (``None``: no row for it), checked as the module says."""
    rows = iter(read_rows(spec.path))
    if spec.id_field is not None:
        by_id: dict[str, Any] = {}
        field: str | None = None
        for id_row in rows:
            field = field or _answer_field(spec, dict(id_row.data), id_row.line)
            key = id_row.data.get(spec.id_field)
            if key is None:
                raise DatasetError(spec.path, id_row.line, spec.id_field, "missing")
            if str(key) in by_id:
                raise DatasetError(spec.path, id_row.line, spec.id_field, f"duplicate id {key!r}")
            by_id[str(key)] = id_row.data.get(field)
        for sample in samples:
            yield sample, by_id.get(sample.id)
        return
    field = None
    line: int | None = None
    for sample in samples:
        row = next(rows, None)
        if row is None:
            raise DatasetError(
                spec.path, None, None, f"fewer rows than samples (no row for sample {sample.id})"
            )
        line = row.line
        field = field or _answer_field(spec, dict(row.data), row.line)
        prompt = row.data.get(spec.prompt_field)
        if isinstance(prompt, str) and sample.text.strip() not in prompt:
            raise DatasetError(
                spec.path,
                row.line,
                spec.prompt_field,
                f"does not contain the text of sample {sample.id} (line {sample.line} of the "
                "dataset): the files are not in the same order",
            )
        yield sample, row.data.get(field)
    extra = next(rows, None)
    if extra is not None:
        raise DatasetError(
            spec.path, extra.line, None, f"more rows than samples (the dataset ends at row {line})"
        )


class OutputAnswers:
    """A chat client whose answers come from an outputs file, in the dataset's order."""

    def __init__(self, prepared: Prepared, spec: OutputsFile) -> None:
        categories = frozenset(prepared.policies.categories)
        self._answers: dict[str, deque[str | None]] = {}
        self.samples = self.missing = 0
        limit = prepared.config.limit
        samples = iter_samples(prepared.dataset_path, categories)
        for seq, (sample, answer) in enumerate(read_answers(spec, samples)):
            if limit is not None and seq >= limit:
                break
            self.samples += 1
            if answer is None:
                self.missing += 1
            elif not isinstance(answer, str):
                raise DatasetError(spec.path, None, spec.answer_field, f"{answer!r} is not text")
            # identical user messages are answered in dataset order (the runner is run
            # with one request in flight, so dispatch order is dataset order)
            asked = transcript(conversation(sample, prepared.config.task))
            self._answers.setdefault(asked, deque()).append(answer)
        self._path = spec.path

    async def __aenter__(self) -> OutputAnswers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def chat(
        self,
        system: str,
        user: UserInput,
        model: str | None = None,
        reasoning_effort: str | None = None,
    ) -> Completion:
        queue = self._answers.get(transcript(user))
        answer = queue.popleft() if queue else None
        if answer is None:
            raise NoOutput(f"no output for this sample in {self._path}")
        return Completion(answer, None, "stop", None, None, 0.0)

    async def send(self, request: NativeRequest) -> Completion:
        raise NoOutput(
            "published outputs are scored through the generic prompt, not a native format"
        )


class NoOutput(RequestError):
    retryable = False
    kind = ErrorKind.NO_OUTPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)


def dataset_task(path: Path) -> Task | None:
    """The task a dataset's gold is for, as its import recorded it (a protocol recipe's
    header, or ``meta.task`` of its first sample); ``None`` when it does not say."""
    header = read_header(path) or {}
    protocol = (header.get("imported") or {}).get("protocol") or {}
    if protocol.get("task") in TASK_NAMES:
        return Task(protocol["task"])
    for sample in iter_samples(path, None):
        task = (sample.meta or {}).get("task")
        return Task(task) if task in TASK_NAMES else None
    return None


@dataclass(frozen=True, slots=True)
class Scored:
    """A scored outputs file: the stored run, and the convention's figure if asked."""

    result: RunResult
    samples: int
    missing: int
    convention: ConventionScore | None


async def score_outputs(
    prepared: Prepared,
    spec: OutputsFile,
    store: Store,
    task: Task,
    convention: str | None = None,
) -> Scored:
    """Score ``spec``'s answers against ``prepared``'s dataset into a new stored run."""
    answers = OutputAnswers(prepared, spec)
    result = await Run(prepared, store, client=answers).execute()
    score = None
    if convention is not None:
        score = conventions.apply(convention, store.iter_records(result.run_id), task)
    return Scored(result, answers.samples, answers.missing, score)
