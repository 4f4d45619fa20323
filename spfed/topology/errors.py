"""Errors of ``spfed.topology``.

    ValueError
    ├── TopologyFileError      the topology file is invalid (one problem per line)
    └── PlacementFileError     the placement file is invalid (one problem per line)
    RuntimeError
    └── LaunchError            a topology could not be brought up or down
        └── AlreadyRunning     ``up`` found a state file for that topology name

Every line of a file error reads ``<file>: <field path>: <problem>``.
"""

from __future__ import annotations

__all__ = ["AlreadyRunning", "LaunchError", "PlacementFileError", "TopologyFileError"]


class TopologyFileError(ValueError):
    """The topology file is unreadable or invalid; one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)
        """The problems, one line each."""


class PlacementFileError(ValueError):
    """The placement file is unreadable or invalid; one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)
        """The problems, one line each."""


class LaunchError(RuntimeError):
    """A topology could not be brought up (everything started was stopped) or down."""

    def __init__(self, message: str, *, operator: str = "", log_tail: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.operator = operator
        """The operator at fault, if one is."""
        self.log_tail = log_tail
        """The last lines of that operator's log."""


class AlreadyRunning(LaunchError):
    """A topology of that name has a state file already; ``down`` it first."""
