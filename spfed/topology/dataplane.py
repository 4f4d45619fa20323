"""A topology's data plane: what ``dataplane: netns`` sets on every operator.

With the netns data plane every operator of the topology runs its PoPs' VNFs in
network namespaces and builds its WAN with VXLAN between gateway namespaces.
The operators meet in the data plane by name (``spfed.netns.layout``), so they
must agree on:

- one namespace *prefix* for the whole topology (derived from its name);
- VNIs that never collide: each operator gets a disjoint slice of the VNI space
  for its services (``addressing.vni_pool``) and for its WAN segments
  (``wim.vni_pool``).

``settings`` in the topology file still win over what is derived here (except
for the prefix, which the PoPs need to be equal).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from spfed.netns import cleanup, inventory
from spfed.topology.model import Topology

__all__ = [
    "VNIS_PER_OPERATOR",
    "dataplane_sections",
    "netns_prefix",
    "pop_options",
    "remove_dataplane",
]

VNIS_PER_OPERATOR = 1_000_000
"""VNIs each operator gets: the first half for services, the second for WAN segments."""
_MAX_VNI = 16_777_215


def netns_prefix(topology_name: str) -> str:
    """The prefix of every namespace and link of a topology's data plane."""
    return "sf" + hashlib.sha256(topology_name.encode()).hexdigest()[:6]


def dataplane_sections(topology: Topology, operator: str) -> dict[str, Any]:
    """Node configuration sections for ``operator`` under the topology's data plane.

    Empty when the topology has none (``dataplane: none``).

    Raises:
        ValueError: the topology has more operators than the VNI space holds.
    """
    if topology.dataplane != "netns":
        return {}
    index = sorted(topology.operators).index(operator)
    base = (index + 1) * VNIS_PER_OPERATOR
    half = VNIS_PER_OPERATOR // 2
    if base + VNIS_PER_OPERATOR - 1 > _MAX_VNI:
        raise ValueError(
            f"a netns topology holds at most {_MAX_VNI // VNIS_PER_OPERATOR - 1} operators"
        )
    prefix = netns_prefix(topology.name)
    return {
        "addressing": {"vni_pool": f"{base}-{base + half - 1}"},
        "wim": {
            "driver": "netns",
            "netns_prefix": prefix,
            "vni_pool": f"{base + half}-{base + VNIS_PER_OPERATOR - 1}",
        },
    }


def pop_options(topology: Topology, operator: str) -> dict[str, str]:
    """Options of every PoP of ``operator`` under the topology's data plane."""
    if topology.dataplane != "netns":
        return {}
    return {"netns": "on", "netns_prefix": netns_prefix(topology.name), "netns_node": operator}


def remove_dataplane(topology_name: str) -> int:
    """Remove every namespace and link of a topology's data plane; how many namespaces
    there were. Nothing to do (0) when it has none."""
    prefix = netns_prefix(topology_name)

    async def remove() -> int:
        found = await inventory(prefix)
        if found.empty:
            return 0
        await cleanup(prefix)
        return len(found.namespaces)

    return asyncio.run(remove())
