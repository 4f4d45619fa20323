"""Task definitions and the registry that holds them under stable ids.

Tasks are declared with a decorator, at import time, and validated at once
(id syntax, duplicate ids, coroutine functions only), so a broken task table
fails when the module is imported, never in the middle of a run::

    tasks: TaskRegistry[MyCtx] = TaskRegistry()

    @tasks.task("deploy_local", timeout_s=30, max_attempts=2)
    async def deploy_local(ctx: MyCtx) -> None: ...

    @deploy_local.compensator
    async def undeploy_local(ctx: MyCtx) -> None: ...

A definition is immutable: ``compensator`` returns a new definition and
re-registers it under the same id. The registry is therefore the one source of
truth; look definitions up with ``registry.get(id)`` rather than keeping the
decorated names around.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Generic, TypeAlias, TypeVar

from spfed.engine.ids import TaskId, task_id

__all__ = ["TaskDefinition", "TaskFunction", "TaskRegistry", "UnknownTaskError"]

C = TypeVar("C")

TaskFunction: TypeAlias = Callable[[C], Awaitable[object]]
"""A task body or compensator: a coroutine function taking the workflow context. What a
task body returns is its *output*: the runner hands it to the listener with the task's
success (``RunListener.task_finished``), which persists it for the tasks after it;
``None`` is no output. A compensator's return value is ignored."""


class UnknownTaskError(LookupError):
    """A task id that no registry holds was asked for (a programming error)."""


@dataclass(frozen=True)
class TaskDefinition(Generic[C]):
    """One task: what it runs, how it is undone, and its retry limits.

    Raises (on construction):
        ValueError: bad id syntax, ``timeout_s <= 0`` or ``max_attempts < 1``.
        TypeError: ``run`` or ``compensate`` is not a coroutine function.
    """

    id: TaskId
    """Stable id, persisted with the run's progress."""
    run: TaskFunction[C]
    """The task body; it may be retried, so it must be idempotent."""
    compensate: TaskFunction[C] | None = None
    """Undoes the task; must be idempotent and tolerate partial or no work."""
    timeout_s: float | None = None
    """Per-attempt deadline; ``None`` uses the runner's default."""
    max_attempts: int | None = None
    """Attempts for temporary errors; ``None`` uses the runner's default."""
    owner: TaskRegistry[C] | None = field(default=None, repr=False, compare=False)
    """The registry it was declared in; ``compensator`` re-registers it there."""

    def __post_init__(self) -> None:
        task_id(self.id)
        _require_coroutine_function(self.id, "task", self.run)
        if self.compensate is not None:
            _require_coroutine_function(self.id, "compensator", self.compensate)
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ValueError(f"task {self.id!r}: timeout_s must be > 0, got {self.timeout_s!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(
                f"task {self.id!r}: max_attempts must be >= 1, got {self.max_attempts!r}"
            )

    def compensator(self, fn: TaskFunction[C]) -> TaskDefinition[C]:
        """Decorator: attach ``fn`` as this task's compensation.

        Returns the new definition, which replaces this one in ``owner``.

        Raises:
            TypeError: ``fn`` is not a coroutine function.
            ValueError: a compensator is already attached, or this definition is
                stale (its owner holds a newer one under the same id).
        """
        if self.compensate is not None:
            raise ValueError(
                f"task {self.id!r} already has a compensator ({_name(self.compensate)})"
            )
        updated = replace(self, compensate=fn)
        if self.owner is not None:
            self.owner._replace(self, updated)
        return updated


class TaskRegistry(Generic[C]):
    """Task definitions by id, for one context type ``C``.

    Ids are unique within a registry; plug-ins bring their own registries,
    combined with ``include`` (in place) or ``merge`` (a new registry).
    """

    def __init__(self) -> None:
        self._tasks: dict[TaskId, TaskDefinition[C]] = {}

    def task(
        self, id: str, *, timeout_s: float | None = None, max_attempts: int | None = None
    ) -> Callable[[TaskFunction[C]], TaskDefinition[C]]:
        """Decorator: register a coroutine function as the task ``id``.

        Raises (when decorating):
            ValueError: bad id syntax, duplicate id, or bad limits.
            TypeError: the function is not a coroutine function.
        """
        checked = task_id(id)

        def register(fn: TaskFunction[C]) -> TaskDefinition[C]:
            definition = TaskDefinition(
                id=checked, run=fn, timeout_s=timeout_s, max_attempts=max_attempts, owner=self
            )
            self.add(definition)
            return definition

        return register

    def add(self, definition: TaskDefinition[C]) -> None:
        """Register a definition.

        Raises:
            ValueError: another definition is registered under the same id.
        """
        existing = self._tasks.get(definition.id)
        if existing is not None and existing is not definition:
            raise ValueError(
                f"duplicate task id {definition.id!r}: already registered by "
                f"{_name(existing.run)}, again by {_name(definition.run)}"
            )
        self._tasks[definition.id] = definition

    def include(self, other: TaskRegistry[C]) -> None:
        """Add every task of ``other`` to this registry.

        Raises:
            ValueError: an id of ``other`` is already registered here with a
                different definition; nothing is added then.
        """
        for definition in other:
            existing = self._tasks.get(definition.id)
            if existing is not None and existing is not definition:
                raise ValueError(
                    f"duplicate task id {definition.id!r}: registered by {_name(existing.run)} "
                    f"and by {_name(definition.run)}"
                )
        self._tasks.update(other._tasks)

    def merge(self, other: TaskRegistry[C]) -> TaskRegistry[C]:
        """A new registry holding the tasks of both; neither input changes.

        Raises:
            ValueError: as ``include``.
        """
        merged: TaskRegistry[C] = TaskRegistry()
        merged.include(self)
        merged.include(other)
        return merged

    def get(self, id: str) -> TaskDefinition[C]:
        """The definition registered under ``id``.

        Raises:
            UnknownTaskError: no task has that id; the message lists the known ones.
        """
        definition = self._tasks.get(TaskId(id))
        if definition is None:
            known = ", ".join(self._tasks) or "none"
            raise UnknownTaskError(f"unknown task id {id!r}; registered: {known}")
        return definition

    def ids(self) -> tuple[TaskId, ...]:
        """Registered ids, in registration order."""
        return tuple(self._tasks)

    def __contains__(self, id: object) -> bool:
        return id in self._tasks

    def __iter__(self) -> Iterator[TaskDefinition[C]]:
        return iter(tuple(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)

    def __repr__(self) -> str:
        return f"TaskRegistry({', '.join(self._tasks)})"

    def _replace(self, old: TaskDefinition[C], new: TaskDefinition[C]) -> None:
        if self._tasks.get(old.id) is not old:
            raise ValueError(
                f"task {old.id!r}: this definition is stale; decorate the one the registry "
                "holds (compensators are attached once, right after the task)"
            )
        self._tasks[old.id] = new


def _require_coroutine_function(id: str, role: str, fn: object) -> None:
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(
            f"task {id!r}: the {role} must be a coroutine function (async def), got {_name(fn)}"
        )


def _name(fn: object) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or repr(fn)
    return f"{module}.{qualname}" if module else str(qualname)
