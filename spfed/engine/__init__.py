"""The generic task engine: workflows as data, run with retries and compensation.

It knows nothing about services, gRPC or SQL. Callers register tasks on a
``TaskRegistry``, describe a workflow as a ``Schedule`` (edited by
``WorkflowPlugin``s), and run it with a ``WorkflowRunner`` whose
``RunListener`` persists the progress (``RunStoreListener`` into a ``RunStore``).
"""

from __future__ import annotations

from spfed.engine.compensation import STARTED_STATES, compensation_order
from spfed.engine.execution import execute_once, execute_with_retries
from spfed.engine.ids import TASK_ID_PATTERN, RunId, TaskId, task_id
from spfed.engine.listener import RunListener
from spfed.engine.outcome import Outcome, PermanentFailure, Succeeded, TemporaryFailure
from spfed.engine.plugins import (
    PLUGIN_GROUP,
    PluginNotFoundError,
    WorkflowPlugin,
    WorkflowSubject,
    customize_schedule,
    load_plugins,
    registry_with_plugins,
)
from spfed.engine.policy import InOrderPolicy, SchedulePolicy, step_violation
from spfed.engine.progress import (
    InMemoryRunStore,
    RunRecord,
    RunStore,
    RunStoreListener,
    TaskRecord,
    schedule_from_text,
    schedule_text,
    task_states,
)
from spfed.engine.registry import TaskDefinition, TaskFunction, TaskRegistry, UnknownTaskError
from spfed.engine.runner import RunResult, WorkflowRunner
from spfed.engine.schedule import Schedule

__all__ = [
    "PLUGIN_GROUP",
    "STARTED_STATES",
    "TASK_ID_PATTERN",
    "InMemoryRunStore",
    "InOrderPolicy",
    "Outcome",
    "PermanentFailure",
    "PluginNotFoundError",
    "RunId",
    "RunListener",
    "RunRecord",
    "RunResult",
    "RunStore",
    "RunStoreListener",
    "Schedule",
    "SchedulePolicy",
    "Succeeded",
    "TaskDefinition",
    "TaskFunction",
    "TaskId",
    "TaskRecord",
    "TaskRegistry",
    "TemporaryFailure",
    "UnknownTaskError",
    "WorkflowPlugin",
    "WorkflowRunner",
    "WorkflowSubject",
    "compensation_order",
    "customize_schedule",
    "execute_once",
    "execute_with_retries",
    "load_plugins",
    "registry_with_plugins",
    "schedule_from_text",
    "schedule_text",
    "step_violation",
    "task_id",
    "task_states",
]
