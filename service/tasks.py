"""What a guard model is asked to judge: the three tasks of guard-model evaluation.

Published tables report each task on its own (GuardBench, Ai2's safety-eval, GuardReasoner):

* ``prompt``: is the user's request harmful;
* ``response``: is the assistant's answer harmful;
* ``refusal``: did the assistant refuse.

One definition, shared by datasets (which gold a sample carries), strategies (what the prompt
asks), parsers (which line of a multi-part answer to read) and scoring (which gold is compared),
so the task is a type rather than a string passed between modules.
"""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    PROMPT = "prompt"
    RESPONSE = "response"
    REFUSAL = "refusal"


TASKS: tuple[Task, ...] = tuple(Task)
