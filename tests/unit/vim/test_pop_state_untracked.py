"""The emulated PoP's per-network indexes stay out of the garbage collector's scans.

``PopState`` keeps them as dicts of strings and integers, which CPython does
not track; a set would be scanned by every full collection of the node (see
the module docstring of ``lower_sp.local.vim.emulated._pop_state``).
"""

from __future__ import annotations

import gc
from typing import Any

from lower_sp.local.vim import EmulatedPop, NetworkRequest, PortRequest


async def test_network_indexes_are_not_gc_tracked(pop: EmulatedPop) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/24", segmentation_id=42))
    await pop.create_port(PortRequest("p1", network))
    await pop.create_port(PortRequest("p2", network, mac="02:00:00:00:00:02"))
    state = pop._live()

    indexes: list[dict[Any, None]] = [
        state.addresses[network.network_id],
        state.macs[network.network_id],
        state.ports_on[network.network_id],
        state.segments[42],
    ]

    assert all(len(index) > 0 for index in indexes)
    assert not any(gc.is_tracked(index) for index in indexes)
