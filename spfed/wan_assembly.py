"""Assembling a node's WIM from its configuration: the WAN graph, the driver, the store.

The WAN's nodes are the node's PoPs and its border points (``catalogue.borders``);
its links are ``wim.links``. The driver is chosen by ``wim.driver``: ``capacity``
books only; ``netns`` builds the data plane, under ``wim.netns_prefix`` (which every
node of a topology must share, see ``wim.drivers.netns``) or, when empty, a prefix
derived from the node id.
"""

from __future__ import annotations

from addressing import IdPool, parse_id_range
from spfed.config import NodeConfig
from spfed.netns import Fabric
from wim import BookingStore, CapacityOnlyDriver, WanGraph, WanLink, Wim, WimDriver
from wim.drivers import NetnsWimDriver, default_prefix, wan_gateways

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


async def _start_driver(config: NodeConfig, graph: WanGraph) -> WimDriver:
    """The configured driver, ready: the netns one has built (or taken over) its WAN."""
    if config.wim.driver != "netns":
        return CapacityOnlyDriver()
    gateways = wan_gateways(
        config.id,
        (pop.name for pop in config.pops),
        {border.id: border.peer for border in config.catalogue.borders},
    )
    fabric = Fabric(config.wim.netns_prefix or default_prefix(config.id))
    driver = NetnsWimDriver(config.id, graph, gateways, fabric)
    await driver.start()
    return driver


async def start_wim(config: NodeConfig, store: BookingStore) -> Wim | None:
    """The node's WIM with every stored connectivity service booked again; None
    unless ``wim.enabled``.

    Raises:
        FailedPrecondition: a stored service no longer fits the configuration, or
            the netns driver cannot build its WAN (it needs root).
        InvalidArgument: ``wim.netns_prefix`` is malformed.
    """
    if not config.wim.enabled:
        return None
    vnis = IdPool("wim-vnis", parse_id_range(config.wim.vni_pool, field="wim.vni_pool"))
    graph = wan_graph(config)
    wim = Wim(graph, await _start_driver(config, graph), vnis, store)
    await wim.restore()
    return wim
