"""Service-specific workflow plug-ins (SONATA's SSM idea).

A plug-in looks at what a workflow is for (a ``WorkflowSubject``) and, if it
applies, returns an edited schedule; it may bring its own tasks. Plug-ins
never patch the engine or other tasks: the schedule is the only thing they
change. Third-party plug-ins are installed as entry points in the
``spfed.plugins`` group, each naming a factory that takes no arguments and
returns the plug-in::

    [project.entry-points."spfed.plugins"]
    secure_chain = "acme_spfed.secure_chain:SecureChainPlugin"
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, runtime_checkable

from spfed.engine.registry import TaskRegistry, UnknownTaskError
from spfed.engine.schedule import Schedule

__all__ = [
    "PLUGIN_GROUP",
    "PluginNotFoundError",
    "WorkflowPlugin",
    "WorkflowSubject",
    "customize_schedule",
    "load_plugins",
    "registry_with_plugins",
]

C = TypeVar("C")

PLUGIN_GROUP = "spfed.plugins"
"""Entry-point group of workflow plug-in factories."""


class PluginNotFoundError(LookupError):
    """No installed plug-in has the requested name."""


@dataclass(frozen=True)
class WorkflowSubject:
    """What a plug-in gets to look at when deciding whether and how to customise."""

    workflow: str
    """The workflow: ``instantiate``, ``terminate``, ..."""
    service_type: str
    """The service's descriptor, e.g. ``eu.spfed.demo/secure-chain/1.0``."""
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Free-form hints; stored as a read-only copy."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))


@runtime_checkable
class WorkflowPlugin(Protocol[C]):
    """A service-specific manager: edits the schedule of the workflows it applies to."""

    @property
    def name(self) -> str:
        """Name in logs and errors (usually the entry-point name)."""
        ...

    def tasks(self) -> TaskRegistry[C]:
        """The tasks the plug-in brings (may be empty); ids must not clash with others."""
        ...

    def applies_to(self, subject: WorkflowSubject) -> bool:
        """Whether ``customize`` should be called for ``subject``."""
        ...

    def customize(self, subject: WorkflowSubject, schedule: Schedule) -> Schedule:
        """The schedule to use instead of ``schedule``; must not mutate anything."""
        ...


def load_plugins(names: Iterable[str], group: str = PLUGIN_GROUP) -> list[WorkflowPlugin[Any]]:
    """Load plug-ins by entry-point name, in the given order, and instantiate them.

    Raises:
        PluginNotFoundError: a name is not installed in ``group``; the message
            lists the names that are.
        TypeError: an entry point is not a factory of objects that satisfy
            ``WorkflowPlugin``.
    """
    installed = {ep.name: ep for ep in entry_points(group=group)}
    plugins: list[WorkflowPlugin[Any]] = []
    for name in names:
        ep = installed.get(name)
        if ep is None:
            available = ", ".join(sorted(installed)) or "none installed"
            raise PluginNotFoundError(
                f"unknown workflow plug-in {name!r} in entry-point group {group!r}; "
                f"available: {available}"
            )
        factory = ep.load()
        if not callable(factory):
            raise TypeError(f"plug-in {name!r} ({ep.value}) is not a factory: {factory!r}")
        plugin = factory()
        if not isinstance(plugin, WorkflowPlugin):
            raise TypeError(
                f"plug-in {name!r} ({ep.value}) made {plugin!r}, which lacks "
                "name, tasks(), applies_to() or customize()"
            )
        plugins.append(plugin)
    return plugins


def registry_with_plugins(
    registry: TaskRegistry[C], plugins: Sequence[WorkflowPlugin[C]]
) -> TaskRegistry[C]:
    """A new registry with the tasks of ``registry`` and of every plug-in.

    Raises:
        ValueError: two of them register the same task id.
    """
    combined: TaskRegistry[C] = TaskRegistry()
    combined.include(registry)
    for plugin in plugins:
        try:
            combined.include(plugin.tasks())
        except ValueError as exc:
            raise ValueError(f"plug-in {plugin.name!r}: {exc}") from exc
    return combined


def customize_schedule(
    base: Schedule,
    subject: WorkflowSubject,
    plugins: Sequence[WorkflowPlugin[C]],
    registry: TaskRegistry[C],
) -> Schedule:
    """Apply every plug-in that applies to ``subject``, in order, to ``base``.

    Each plug-in sees the schedule the previous one returned. Every task id of
    the result must be registered in ``registry`` or brought by one of
    ``plugins`` (not necessarily the plug-in that schedules it).

    Raises:
        UnknownTaskError: ``base`` or a plug-in's result names a task nobody
            registered; the message names the culprit.
        TypeError: a plug-in returned something other than a ``Schedule``.
    """
    known = {*registry.ids(), *(t for plugin in plugins for t in plugin.tasks().ids())}
    _require_known(base, known, "the base schedule", subject)
    schedule = base
    for plugin in plugins:
        if not plugin.applies_to(subject):
            continue
        customized = plugin.customize(subject, schedule)
        if not isinstance(customized, Schedule):
            raise TypeError(
                f"plug-in {plugin.name!r} returned {customized!r} instead of a Schedule"
            )
        _require_known(customized, known, f"plug-in {plugin.name!r}", subject)
        schedule = customized
    return schedule


def _require_known(
    schedule: Schedule, known: Collection[str], culprit: str, subject: WorkflowSubject
) -> None:
    unknown = [t for t in schedule.task_ids() if t not in known]
    if unknown:
        raise UnknownTaskError(
            f"{culprit} put unregistered task(s) {', '.join(map(repr, unknown))} into the "
            f"{subject.workflow} schedule of {subject.service_type}: {schedule}"
        )
