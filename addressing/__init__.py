"""The address plan: pools, per-service plans and the checks on what comes back.

The upper SP owns the address space of a service and hands each lower SP
disjoint constraints; the lower SP plans inside them, recursively, and the
upper checks what it reports.
"""

from addressing.ids import IdPool, parse_id_range, split_ids
from addressing.macs import MacBlock, MacPool, format_mac, parse_mac, parse_mac_block
from addressing.plan import (
    OWN,
    AddressPlan,
    Endpoint,
    LinkDemand,
    LinkPlan,
    PlanSettings,
    ServiceSpace,
    address_range,
    plan_addresses,
    reserved_addresses,
)
from addressing.pool import Network, PrefixPool, parse_network, split_prefix
from addressing.verify import (
    assignment_problems,
    find_collisions,
    find_duplicates,
    outside_constraints,
)

HONOURED_CONSTRAINTS = (
    "prefix",
    "range",
    "excluded",
    "subnet",
    "gateway",
    "vni",
    "mac_prefix",
    "port_id_prefix",
    "mtu",
)
"""Address-constraint kinds a node honours on its sub-services' external points."""

__all__ = [
    "HONOURED_CONSTRAINTS",
    "OWN",
    "AddressPlan",
    "Endpoint",
    "IdPool",
    "LinkDemand",
    "LinkPlan",
    "MacBlock",
    "MacPool",
    "Network",
    "PlanSettings",
    "PrefixPool",
    "ServiceSpace",
    "address_range",
    "assignment_problems",
    "find_collisions",
    "find_duplicates",
    "format_mac",
    "outside_constraints",
    "parse_id_range",
    "parse_mac",
    "parse_mac_block",
    "parse_network",
    "plan_addresses",
    "reserved_addresses",
    "split_ids",
    "split_prefix",
]
