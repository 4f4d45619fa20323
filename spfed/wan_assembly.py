"""Assembling a node's WIM from its configuration: the WAN graph, the driver, the store.

The WAN's nodes are the node's PoPs and its border points (``catalogue.borders``);
its links are ``wim.links``. The driver is chosen by ``wim.driver``.
"""

from __future__ import annotations

from addressing import IdPool, parse_id_range
from spfed.config import NodeConfig
from wim import BookingStore, CapacityOnlyDriver, WanGraph, WanLink, Wim, WimDriver

__all__ = ["start_wim", "wan_graph"]


def wan_graph(config: NodeConfig) -> WanGraph:
    """The node's WAN graph, from its PoPs, border points and WAN links.

    Raises:
        InvalidArgument: the graph is inconsistent (the config checks catch
            this first).
    """
    nodes = [p.name for p in config.pops] + [b.id for b in config.catalogue.borders]
    links = [
        WanLink(link.id, link.a, link.b, link.capacity_mbps, link.latency_ms)
        for link in config.wim.links
    ]
    return WanGraph(nodes, links)


def _driver(config: NodeConfig) -> WimDriver:
    return CapacityOnlyDriver()


async def start_wim(config: NodeConfig, store: BookingStore) -> Wim | None:
    """The node's WIM with every stored connectivity service booked again; None
    unless ``wim.enabled``.

    Raises:
        FailedPrecondition: a stored service no longer fits the configuration.
    """
    if not config.wim.enabled:
        return None
    vnis = IdPool("wim-vnis", parse_id_range(config.wim.vni_pool, field="wim.vni_pool"))
    wim = Wim(wan_graph(config), _driver(config), vnis, store)
    await wim.restore()
    return wim
