"""The crash switch: end the node process at a named point of a workflow. Tests only.

``faults.crash_at`` in node.yaml (or ``SPFED__FAULTS__CRASH_AT``) names one
point, ``<workflow>/<task id>/<phase>``:

* workflow: ``instantiate`` or ``terminate`` (a service), ``slice_create`` or
  ``slice_delete`` (a slice);
* task id: a task of that workflow's schedule (``deploy_local``, ...);
* phase: ``before`` (the attempt's start reported, the task's body not yet
  run), ``mid_effect`` (inside the body: one external effect made, its record
  not yet written; only the tasks of ``MID_EFFECT_TASKS``), ``after_effect``
  (the body returned, its success not yet reported) or ``after_persist`` (its
  success handed to the progress listener; progress is written behind the
  work, so the record may still be in the queue).

The first time a run of this node reaches the point, the node logs one line
(``event=fault_injected``, flushed) and ends with ``os._exit(70)``: no
shutdown, no finally blocks, no flushing of queued writes, as a crash. It
fires in every run that reaches it, including the admission of an
instantiation (``validate``, ``place``) inside the InstantiateService call.

It exists for the crash tests (``tests/crash``). A node started with it logs
a warning, and must never run so in production. Empty (the default) means
off: the node's runners get no hook at all (``fault_hook`` returns ``None``).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from spfed.config import FaultsConfig
from spfed.engine import RunId, Schedule, TaskId
from spfed.engine.runner import FaultHook, FaultPhase
from spfed.errors import InvalidArgument
from spfed.lifecycle.instantiate import INSTANTIATE
from spfed.lifecycle.slice_tasks import (
    SLICE_CREATE,
    SLICE_CREATE_WORKFLOW,
    SLICE_DELETE,
    SLICE_DELETE_WORKFLOW,
)
from spfed.lifecycle.terminate import TERMINATE

__all__ = [
    "CRASH_EXIT_CODE",
    "MID_EFFECT_TASKS",
    "SLICE_WORKFLOWS",
    "WORKFLOWS",
    "CrashAt",
    "crash_hook",
    "fault_hook",
]

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 70
"""The injected crash's exit status (``EX_SOFTWARE``), distinct from a failed start (1)."""

WORKFLOWS: Mapping[str, Schedule] = {"instantiate": INSTANTIATE, "terminate": TERMINATE}
"""The service workflows a point may name, with their schedules (``test_crash_matrix``
crashes each). Their task ids are disjoint, so the task the runner reports says which
workflow runs it."""

SLICE_WORKFLOWS: Mapping[str, Schedule] = {
    SLICE_CREATE_WORKFLOW: SLICE_CREATE,
    SLICE_DELETE_WORKFLOW: SLICE_DELETE,
}
"""The slice workflows a point may name (``tests/crash/test_slice_crashes.py``); their task
ids are distinct from each other's and from the service workflows' ones."""

_ALL_WORKFLOWS: Mapping[str, Schedule] = {**WORKFLOWS, **SLICE_WORKFLOWS}

_PHASES: tuple[FaultPhase, ...] = ("before", "mid_effect", "after_effect", "after_persist")

MID_EFFECT_TASKS: Mapping[str, frozenset[str]] = {
    "instantiate": frozenset({"deploy_local", "delegate_subservices"}),
}
"""The tasks that call the hook at ``mid_effect`` themselves: ``deploy_local`` when the
VIM returned the first object of a part, before its handle is recorded;
``delegate_subservices`` when a lower SP admitted a sub-service, before this node records
its id. Only these points may name that phase."""


@dataclass(frozen=True)
class CrashAt:
    """A parsed fault point; ``str()`` gives it back as configured."""

    workflow: str
    task: TaskId
    phase: FaultPhase

    @classmethod
    def parse(cls, point: str) -> CrashAt:
        """``<workflow>/<task id>/<phase>`` checked against the workflows' schedules.

        Raises:
            InvalidArgument: malformed, or naming an unknown workflow, task or phase
                (a typo must not leave a crash test waiting for a crash that never comes).
        """
        workflow, _, rest = point.partition("/")
        task, _, phase = rest.partition("/")
        schedule = _ALL_WORKFLOWS.get(workflow)
        if schedule is None:
            raise InvalidArgument(
                f"faults.crash_at: unknown workflow {workflow!r} in {point!r};"
                f" one of {', '.join(_ALL_WORKFLOWS)}"
            )
        tasks = schedule.task_ids()
        if task not in tasks:
            raise InvalidArgument(
                f"faults.crash_at: {workflow} has no task {task!r}; one of {', '.join(tasks)}"
            )
        if phase == "mid_effect" and task not in MID_EFFECT_TASKS.get(workflow, ()):
            raise InvalidArgument(
                f"faults.crash_at: {workflow}/{task} has no mid_effect point; only"
                f" {', '.join(sorted(MID_EFFECT_TASKS.get(workflow, ())) or ['none'])}"
            )
        for known in _PHASES:
            if phase == known:
                return cls(workflow, TaskId(task), known)
        raise InvalidArgument(
            f"faults.crash_at: unknown phase {phase!r}; one of {', '.join(_PHASES)}"
        )

    def __str__(self) -> str:
        return f"{self.workflow}/{self.task}/{self.phase}"


def crash_hook(point: CrashAt, exit: Callable[[int], object] = os._exit) -> FaultHook:
    """The engine hook that ends the process (through ``exit``) when ``point`` is reached."""

    def hook(run_id: RunId, task: TaskId, phase: FaultPhase) -> None:
        if task != point.task or phase != point.phase:
            return
        log.critical(
            "event=fault_injected point=%s run=%s exit_code=%d",
            point,
            run_id,
            CRASH_EXIT_CODE,
        )
        # os._exit skips every flush: the line above must reach the log first.
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        exit(CRASH_EXIT_CODE)

    return hook


def fault_hook(config: FaultsConfig) -> FaultHook | None:
    """The hook the node's workflow runners call, or ``None`` when ``crash_at`` is empty.

    Raises:
        InvalidArgument: ``crash_at`` names no known point (the node does not start).
    """
    if not config.crash_at:
        return None
    point = CrashAt.parse(config.crash_at)
    log.warning(
        "event=FAULT_INJECTION_ARMED point=%s: this node will kill itself (exit code %d) when"
        " a workflow reaches that point; for crash tests only, never in production",
        point,
        CRASH_EXIT_CODE,
    )
    return crash_hook(point)
