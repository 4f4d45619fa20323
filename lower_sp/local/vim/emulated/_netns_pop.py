"""The emulated PoP's data plane, when netns is on: a gateway, bridges and VNF namespaces.

``NetnsPop`` builds what ``_netns_plan`` plans with ``spfed.netns``. Its creates are
idempotent (the fabric takes over what exists) and a server that fails part-way is
removed whole; its deletes succeed when there is nothing left to delete. It keeps
no state of its own: names follow from ids, so a restarted node deletes what an
earlier run built.

- A network's bridge may be shared: the node's WIM enslaves the VXLAN segments of
  the same link to it, and a neighbour's WIM may too. So it is deleted only when no
  interface is enslaved to it any more.
- A server's veths are deleted before its namespace: the kernel removes the gateway
  ends of a deleted namespace's veths only later (namespace teardown is
  asynchronous), and its network's bridge would still list them.
- A hop of a chain forwards by *policy routing*, whatever the destination:

  ======  =============================================  ==========================
  rule    matches                                        then
  ======  =============================================  ==========================
  1000    arrived on the upstream interface              table 100: default via the
                                                         downstream peer
  1001    arrived on the downstream interface            table 101: default via the
                                                         upstream peer
  1002    generated here (``iif lo``)                    the main table, but not its
                                                         default: connected subnets
  1003    generated here (ICMP errors, replies)          table 101
  ======  =============================================  ==========================
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging

from lower_sp.local.vim.emulated._netns_plan import (
    ChainPlan,
    InterfacePlan,
    VnfPlan,
    bridge_label,
    vnf_ifname,
    vnf_label,
)
from lower_sp.local.vim.emulated._options import NetnsPlacement
from lower_sp.local.vim.emulated._pop_state import NetworkRecord
from spfed.errors import FailedPrecondition, NotFound
from spfed.gathering import gather_all
from spfed.netns import (
    AttachmentSpec,
    BridgeSpec,
    Fabric,
    IpRoute,
    Namespace,
    RouteSpec,
    VnfSpec,
)

__all__ = ["NetnsPop"]

_log = logging.getLogger(__name__)

_TOWARDS_EGRESS = 100
_TOWARDS_INGRESS = 101
_FIRST_RULE = 1000


class NetnsPop:
    """The namespaces of one emulated PoP; see the module docstring."""

    def __init__(self, pop: str, placement: NetnsPlacement, *, ip: IpRoute | None = None) -> None:
        """Bind to PoP ``pop`` of ``placement`` (call ``start()`` before use).

        Raises:
            InvalidArgument: the node id and PoP name make an invalid gateway label.
        """
        self._pop = pop
        self._ip = ip or IpRoute()
        self._fabric = Fabric(placement.prefix, ip=self._ip)
        self._gateway_spec = placement.gateway(pop)
        self._gateway: Namespace | None = None

    async def start(self) -> None:
        """Create the PoP's gateway namespace, or take over the existing one.

        Raises:
            FailedPrecondition: not permitted (network namespaces need root).
        """
        self._gateway = await self._fabric.add_gateway(self._gateway_spec)
        _log.info("vim.netns.started pop=%s gateway=%s", self._pop, self._gateway.name)

    async def add_network(self, network: NetworkRecord) -> None:
        """Create (or take over) the network's bridge in the gateway, with its MTU."""
        await self._fabric.add_bridge(self._bridge_spec(bridge_label(network), network.mtu))

    async def remove_network(self, network: NetworkRecord) -> None:
        """Delete the network's bridge, unless an interface is still enslaved to it."""
        bridge = self._fabric.bridge(self._bridge_spec(bridge_label(network), network.mtu))
        members = await self._fabric.bridge_ports(bridge)
        if members:
            _log.info(
                "vim.netns.bridge.kept pop=%s network=%s bridge=%s members=%s",
                self._pop,
                network.id,
                bridge.ifname,
                ",".join(members),
            )
            return
        await self._fabric.delete_bridge(bridge)

    async def add_server(self, plan: VnfPlan) -> None:
        """Create the server's namespace, its interfaces and its chain routing.

        On any failure (or cancellation) the namespace is removed whole before raising.
        """
        vnf = await self._fabric.add_vnf(VnfSpec(plan.label))
        try:
            await gather_all(*(self._attach(vnf, interface) for interface in plan.interfaces))
            if plan.chain is not None:
                await self._route_chain(vnf, plan.chain)
        except BaseException:
            await self._remove_vnf(vnf, len(plan.interfaces))
            raise
        _log.info(
            "vim.netns.server.built pop=%s namespace=%s interfaces=%d chain=%s",
            self._pop,
            vnf.name,
            len(plan.interfaces),
            "yes" if plan.chain is not None else "no",
        )

    async def remove_server(self, server_id: str, port_count: int) -> None:
        """Delete the namespace of server ``server_id``, which had ``port_count`` ports."""
        await self._remove_vnf(
            self._fabric.vnf_namespace(VnfSpec(vnf_label(server_id))), port_count
        )

    def _bridge_spec(self, label: str, mtu: int) -> BridgeSpec:
        if self._gateway is None:
            raise FailedPrecondition(f"the data plane of pop {self._pop} is not started")
        spec = BridgeSpec(self._gateway, label)
        return dataclasses.replace(spec, mtu=mtu) if mtu else spec

    async def _attach(self, vnf: Namespace, interface: InterfacePlan) -> None:
        # Ensure the bridge rather than assume it: one lost with its gateway (a host reboot)
        # comes back, and the network cannot be deleted meanwhile (it has this port).
        bridge = await self._fabric.add_bridge(
            self._bridge_spec(interface.bridge_label, interface.mtu)
        )
        spec = AttachmentSpec(
            vnf,
            bridge,
            interface.port_id,
            (interface.address,),
            mac=interface.mac,
            ifname=interface.ifname,
        )
        await self._fabric.attach(
            dataclasses.replace(spec, mtu=interface.mtu) if interface.mtu else spec
        )

    async def _route_chain(self, vnf: Namespace, chain: ChainPlan) -> None:
        up, down = chain.upstream, chain.downstream
        await gather_all(
            self._fabric.add_route(
                RouteSpec(vnf, "default", down.peer, down.ifname, table=_TOWARDS_EGRESS)
            ),
            self._fabric.add_route(
                RouteSpec(vnf, "default", up.peer, up.ifname, table=_TOWARDS_INGRESS)
            ),
        )
        towards_egress, towards_ingress = _family(down.peer), _family(up.peer)
        rules = [
            (towards_egress, "iif", up.ifname, "lookup", str(_TOWARDS_EGRESS)),
            (towards_ingress, "iif", down.ifname, "lookup", str(_TOWARDS_INGRESS)),
            (towards_ingress, "iif", "lo", "lookup", "main", "suppress_prefixlength", "0"),
            (towards_ingress, "iif", "lo", "lookup", str(_TOWARDS_INGRESS)),
        ]
        for preference, (family, *selector) in enumerate(rules, start=_FIRST_RULE):
            await self._ip.ip(
                family, "rule", "add", "pref", str(preference), *selector, netns=vnf.name
            )

    async def _remove_vnf(self, vnf: Namespace, port_count: int) -> None:
        # Deleting a veth end deletes its peer at once, so the bridges are left exact.
        for index in range(port_count):
            with contextlib.suppress(NotFound):
                await self._ip.ip("link", "delete", "dev", vnf_ifname(index), netns=vnf.name)
        await self._fabric.delete_namespace(vnf)


def _family(address: str) -> str:
    return f"-{ipaddress.ip_address(address).version}"
