"""Requests at (or beyond) a node's ``DescriptorLimits``, built in memory.

``maximal_request`` is the largest *valid* request the default limits admit
in functions and placement rules: a chain of ``functions`` copies of one tiny
VNFD between the NSD's two own points. Used by the hostile-admission tests and the noisy-neighbour
benchmark.
"""

from __future__ import annotations

from spfed.model import (
    AddressConstraints,
    ConnectionPoint,
    ConnectionPointType,
    ConnectivityType,
    DeploymentUnit,
    DescriptorRef,
    InstantiateRequest,
    InterfaceType,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    PlacementConstraints,
    PlacementRule,
    Resources,
    ServiceDescriptors,
    VirtualLink,
    VnfDescriptor,
)

__all__ = ["TINY", "maximal_request", "tiny_vnfd", "wide_nsd"]

TINY = DescriptorRef("eu.spfed.test", "tiny", "1.0")


def _cp(cp_id: str, kind: ConnectionPointType = ConnectionPointType.EXTERNAL) -> ConnectionPoint:
    return ConnectionPoint(cp_id, InterfaceType.IPV4, kind)


def tiny_vnfd(resources: Resources | None = None) -> VnfDescriptor:
    """One VM (zero resources unless given) with ``in``, ``out`` and ``mgmt`` points."""
    unit = DeploymentUnit(
        "vdu01",
        vm_image="tiny",
        vm_image_format="qcow2",
        resource_requirements=resources or Resources(),
        connection_points=tuple(_cp(f"eth{i}", ConnectionPointType.INTERNAL) for i in range(3)),
    )
    return VnfDescriptor(
        TINY,
        deployment_units=(unit,),
        connection_points=(_cp("in"), _cp("out"), _cp("mgmt", ConnectionPointType.MANAGEMENT)),
        virtual_links=(
            VirtualLink("in", ConnectivityType.E_LINE, ("in", "vdu01:eth0")),
            VirtualLink("out", ConnectivityType.E_LINE, ("vdu01:eth1", "out")),
            VirtualLink("mgmt", ConnectivityType.E_LAN, ("vdu01:eth2", "mgmt")),
        ),
    )


def wide_nsd(functions: int, *, name: str = "wide", mgmt: bool = False) -> NetworkServiceDescriptor:
    """An NSD chaining ``functions`` tiny functions from ``input`` to ``output``.

    With ``mgmt``, one E-LAN joins every function's ``mgmt`` point (a link
    subnet holds a few dozen endpoints, so only for small services).
    """
    ids = [f"f{i}" for i in range(functions)]
    sources = ["input", *(f"{f}:out" for f in ids)]
    targets = [*(f"{f}:in" for f in ids), "output"]
    links = [
        VirtualLink(f"l{i}", ConnectivityType.E_LINE, (a, b))
        for i, (a, b) in enumerate(zip(sources, targets, strict=True))
    ]
    if mgmt and ids:
        links.append(VirtualLink("mgmt", ConnectivityType.E_LAN, tuple(f"{f}:mgmt" for f in ids)))
    return NetworkServiceDescriptor(
        DescriptorRef("eu.spfed.test", name, "1.0"),
        network_functions=tuple(NetworkFunctionRef(f, TINY) for f in ids),
        connection_points=(_cp("input"), _cp("output")),
        virtual_links=tuple(links),
    )


def maximal_request(
    request_id: str, *, functions: int = 256, pop: str = "", address_space: str = ""
) -> InstantiateRequest:
    """A valid request with ``functions`` functions; with ``pop``, one placement rule each."""
    rules = {f"f{i}": PlacementRule(pop=pop) for i in range(functions)} if pop else {}
    return InstantiateRequest(
        request_id=request_id,
        name="maximal",
        descriptors=ServiceDescriptors(nsd=wide_nsd(functions), vnfds=(tiny_vnfd(),)),
        placement=PlacementConstraints(rules=rules),
        addressing=AddressConstraints(address_space=address_space),
    )
