"""A service-specific plug-in: check forwarding paths after deployment.

SONATA's service-specific managers rewrote a service's workflow. This
plug-in does the same through the engine's plug-in interface: for services
with forwarding graphs, it inserts ``verify_forwarding_paths`` right after
``verify_addresses``. The task checks that every pair of consecutive hops of
every path is joined: data traffic can get from one hop to the next through
the service's links and functions, management points aside (nested services
flattened at this node are crossed through their insides). It also checks that each hop deployed on
this node's PoPs got an addressed port. A broken chain fails the instantiation, which compensates
everything, instead of leaving a service that cannot forward.

Enable it per node with ``workflow.plugins: [chain_check]``.
"""

from __future__ import annotations

import itertools

import networkx as nx

from spfed.engine import Schedule, TaskRegistry, WorkflowSubject
from spfed.errors import FailedPrecondition
from spfed.lifecycle import InstantiateContext
from spfed.model import ConnectionPointType, LocalPart, PartKind, split_ref

__all__ = ["ChainCheckPlugin"]

TASK = "verify_forwarding_paths"
_tasks: TaskRegistry[InstantiateContext] = TaskRegistry()


def _topology(ctx: InstantiateContext) -> nx.Graph[str]:
    """The service's data plane as a graph: points, links and functions.

    Management points are left out: a forwarding path is about data traffic,
    and every function sharing a management LAN would otherwise join anything
    to anything.
    """
    assert ctx.graph is not None
    types = {cp.id: cp.type for cp in ctx.graph.own_points}
    for member in ctx.graph.members:
        if member.vnfd is not None:
            types |= {f"{member.id}:{cp.id}": cp.type for cp in member.vnfd.connection_points}
    graph: nx.Graph[str] = nx.Graph()
    for link in ctx.graph.links:
        data = [r for r in link.refs if types.get(r) is not ConnectionPointType.MANAGEMENT]
        graph.add_edges_from((f"link:{link.id}", ref) for ref in data)
    for ref in list(graph.nodes):
        owner, _ = split_ref(ref)
        if owner is not None:
            graph.add_edge(f"member:{owner}", ref)  # a function forwards between its points
    return graph


def _unjoined(ctx: InstantiateContext) -> list[str]:
    assert ctx.graph is not None
    topology = _topology(ctx)

    def joined(a: str, b: str) -> bool:
        return a in topology and b in topology and nx.has_path(topology, a, b)

    problems = []
    for fg in ctx.graph.forwarding_graphs:
        for path in fg.network_forwarding_paths:
            ordered = sorted(path.connection_points, key=lambda h: h.position)
            hops = [h.connection_point_ref for h in ordered]
            problems += [
                f"{fg.fg_id}/{path.fp_id}: {a} → {b} are not joined by a link"
                for a, b in itertools.pairwise(hops)
                if not joined(a, b)
            ]
    return problems


async def _unaddressed(ctx: InstantiateContext) -> list[str]:
    assert ctx.graph is not None
    record = await ctx.rt.services.get_service(ctx.state.service_id)
    addressed = {
        vnf.vnf_id
        for part in (record.parts if record else ())
        if part.kind is PartKind.LOCAL
        for vnf in part.vnfs
        for unit in vnf.units
        if any(port.address for port in unit.ports)
    }
    local = {m for m, part in ctx.state.placement.items() if isinstance(part, LocalPart)}
    problems = []
    for fg in ctx.graph.forwarding_graphs:
        for path in fg.network_forwarding_paths:
            members = {split_ref(h.connection_point_ref)[0] for h in path.connection_points}
            problems += [
                f"{fg.fg_id}/{path.fp_id}: {m} has no addressed port"
                for m in sorted(m for m in members if m in local and m not in addressed)
            ]
    return problems


@_tasks.task(TASK)
async def verify_forwarding_paths(ctx: InstantiateContext) -> None:
    """Every path's consecutive hops are joined, and local hops have addresses.

    Raises:
        FailedPrecondition: naming the path and the hops that break it.
    """
    if ctx.graph is None:
        return
    problems = _unjoined(ctx) + await _unaddressed(ctx)
    if problems:
        raise FailedPrecondition(
            "the forwarding paths cannot carry traffic: " + "; ".join(problems)
        )


class ChainCheckPlugin:
    """Inserts ``verify_forwarding_paths`` for services that have forwarding graphs."""

    name = "chain_check"

    def tasks(self) -> TaskRegistry[InstantiateContext]:
        """The task this plug-in brings."""
        return _tasks

    def applies_to(self, subject: WorkflowSubject) -> bool:
        """Instantiations of services with at least one forwarding path."""
        return (
            subject.workflow == "instantiate"
            and subject.attributes.get("forwarding_paths", "0") != "0"
        )

    def customize(self, subject: WorkflowSubject, schedule: Schedule) -> Schedule:
        """Check the chain once the addresses are verified, before activation."""
        return schedule.insert_after("verify_addresses", TASK)
