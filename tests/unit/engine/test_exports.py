"""The engine's public names are pinned: changing them is a deliberate act."""

from __future__ import annotations

import spfed.engine


def test_public_names() -> None:
    assert sorted(spfed.engine.__all__) == [
        "InMemoryRunStore",
        "InOrderPolicy",
        "Outcome",
        "PLUGIN_GROUP",
        "PermanentFailure",
        "PluginNotFoundError",
        "RunId",
        "RunListener",
        "RunRecord",
        "RunResult",
        "RunStore",
        "RunStoreListener",
        "STARTED_STATES",
        "Schedule",
        "SchedulePolicy",
        "Succeeded",
        "TASK_ID_PATTERN",
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
    for name in spfed.engine.__all__:
        assert getattr(spfed.engine, name) is not None
