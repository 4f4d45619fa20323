"""The terminate workflow: the compensation of the service's instantiation.

    terminate_subservices ∥ undeploy_local ∥ disconnect_wan → release_addresses

Each terminate task runs the compensator of one instantiate task
(``UNDOES``), on the instantiation as its last persisted state left it, so
there is one way to undo each effect whether an instantiation fails or a
service is terminated. The compensators find what the service holds from the
run's outputs, the part records and the open intents
(``spfed.lifecycle.undo``): a FAILED service's termination releases whatever
its instantiation may have left. The steps run in the reverse order of the
instantiation's, with the three independent undos side by side; the address
block goes back last, once nothing below can still be using it.

Every compensator is idempotent, so a termination interrupted by a restart
simply runs again, and a failed one can be retried with another
TerminateService. Termination cascades: each lower SP terminates its
sub-service the same way. A lower SP that fails temporarily is retried until
``federation.terminate_deadline_s`` after the TerminateService (the
instantiation's ``retry``); meanwhile the service stays TERMINATING.
"""

from __future__ import annotations

from dataclasses import replace

from spfed.config import FederationConfig
from spfed.engine import Schedule, TaskDefinition, TaskFunction, TaskId, TaskRegistry
from spfed.lifecycle.context import InstantiateContext, TerminateContext

__all__ = ["TERMINATE", "UNDOES", "terminate_registry"]

TERMINATE = Schedule.of(
    ("terminate_subservices", "undeploy_local", "disconnect_wan"), "release_addresses"
)

UNDOES = {
    "terminate_subservices": "delegate_subservices",
    "undeploy_local": "deploy_local",
    "disconnect_wan": "connect_wan",
    "release_addresses": "plan_addresses",
}
"""The instantiate task whose compensator each terminate task runs."""


def _compensating(compensate: TaskFunction[InstantiateContext]) -> TaskFunction[TerminateContext]:
    async def run(ctx: TerminateContext) -> None:
        await compensate(ctx.instantiation)

    return run


def terminate_registry(
    instantiate: TaskRegistry[InstantiateContext], federation: FederationConfig
) -> TaskRegistry[TerminateContext]:
    """The terminate tasks of a node whose instantiate tasks are ``instantiate``: each runs
    the compensator of the instantiate task ``UNDOES`` names, with that task's limits.

    ``terminate_subservices`` retries unreachable lower SPs itself, until the
    terminate deadline; so its one attempt is bounded by that deadline (plus one
    last release), not by ``workflow.task_timeout_s``, and the engine does not
    retry it on top.

    Raises:
        ValueError: an instantiate task of ``UNDOES`` has no compensator.
    """
    registry: TaskRegistry[TerminateContext] = TaskRegistry()
    fed = federation
    bound = fed.terminate_deadline_s + fed.delegation_timeout_s + fed.call_timeout_s
    for task, undone in UNDOES.items():
        definition = instantiate.get(undone)
        if definition.compensate is None:
            raise ValueError(f"instantiate task {undone!r} has no compensator for {task!r}")
        terminate = TaskDefinition(
            TaskId(task),
            _compensating(definition.compensate),
            timeout_s=definition.timeout_s,
            max_attempts=definition.max_attempts,
        )
        if task == "terminate_subservices":
            terminate = replace(terminate, timeout_s=bound, max_attempts=1)
        registry.add(terminate)
    return registry
