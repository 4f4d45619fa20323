"""Stable identifiers of tasks and runs.

Task ids are persisted with every run's progress, so they are part of the
storage format: once released, an id never changes meaning. They are checked
when a task is registered or put into a schedule, never later.
"""

from __future__ import annotations

import re
from typing import NewType

__all__ = ["TASK_ID_PATTERN", "RunId", "TaskId", "task_id"]

TaskId = NewType("TaskId", str)
"""Id of a task, e.g. ``deploy_local``; matches ``TASK_ID_PATTERN``."""

RunId = NewType("RunId", str)
"""Id of one workflow run (the caller's operation id); free-form."""

TASK_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
"""Syntax of a task id: lower-case letter, then lower-case letters, digits or ``_``."""


def task_id(value: str) -> TaskId:
    """Return ``value`` as a ``TaskId``.

    Raises:
        ValueError: ``value`` does not match ``^[a-z][a-z0-9_]*$``.
    """
    if not isinstance(value, str) or TASK_ID_PATTERN.fullmatch(value) is None:
        raise ValueError(
            f"invalid task id {value!r}: expected a lower-case letter followed by "
            "lower-case letters, digits or '_' (^[a-z][a-z0-9_]*$)"
        )
    return TaskId(value)
