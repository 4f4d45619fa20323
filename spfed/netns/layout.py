"""Where things live in the emulated data plane: the names every operator agrees on.

Nodes of one topology share a namespace *prefix* and meet in the data plane by
name, without talking to each other:

- each PoP has a gateway namespace, ``pop_gateway(node, pop)``;
- each border between two operators is **one** gateway namespace that both see,
  ``border_gateway(node, peer)`` (the same for ``(a, b)`` and ``(b, a)``);
- a link of a service is, in every gateway it crosses, the bridge labelled by the
  link's VNI from the address plan, ``link_bridge_label(vni)``. The plan gives a
  link that crosses operators one VNI on both sides (the upper SP's constraint),
  so the VIM (VNF ports), the WIM (VXLAN segments) and the neighbouring
  operator's WIM all attach to the same bridge.

VNIs must therefore be unique across the topology: ``spfed topology up`` gives
each operator a disjoint VNI pool.
"""

from __future__ import annotations

from spfed.netns.specs import GatewaySpec

__all__ = ["border_gateway", "link_bridge_label", "pop_gateway"]


def pop_gateway(node_id: str, pop: str) -> GatewaySpec:
    """The gateway namespace of one PoP of one operator."""
    return GatewaySpec(f"pop.{node_id}.{pop}")


def border_gateway(node_id: str, peer: str) -> GatewaySpec:
    """The gateway namespace where ``node_id`` and ``peer`` meet (symmetric)."""
    first, second = sorted((node_id, peer))
    return GatewaySpec(f"border.{first}.{second}")


def link_bridge_label(vni: int) -> str:
    """The label of a service link's bridge in any gateway: its VNI in the address plan."""
    return f"vni{vni}"
