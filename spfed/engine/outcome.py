"""Outcomes of one attempt of a task: running a task never raises, it returns one of these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from spfed.errors import SpfedError

__all__ = ["Outcome", "PermanentFailure", "Succeeded", "TemporaryFailure"]


@dataclass(frozen=True)
class Succeeded:
    """The attempt finished without error."""

    output: object = None
    """What the task body returned (``None`` for a compensator)."""


@dataclass(frozen=True)
class TemporaryFailure:
    """The attempt failed in a way that retrying later may fix."""

    error: SpfedError
    """What went wrong (``error.temporary`` is usually true)."""
    delay_s: float | None = None
    """Wait before the next attempt; ``None`` lets the runner use its backoff."""


@dataclass(frozen=True)
class PermanentFailure:
    """The attempt failed and retrying will not help; the run compensates."""

    error: SpfedError
    """What went wrong."""


Outcome: TypeAlias = Succeeded | TemporaryFailure | PermanentFailure
"""The result of one attempt."""
