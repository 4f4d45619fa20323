"""Properties of the emulated PoP under any interleaving of creates, deletes and restarts."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from lower_sp.local.vim import (
    EmulatedPop,
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
)
from spfed.errors import ResourceExhausted
from spfed.model import Resources
from tests.unit.vim.fakes import YieldingStore

TOTAL = Resources(vcpus=6, memory_mib=6, disk_gib=6)

Op = tuple[Literal["create"], Resources] | tuple[Literal["delete"], int]

_resources = st.builds(Resources, st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
_op: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("create"), _resources),
    st.tuples(st.just("delete"), st.integers(0, 63)),
)
_batch = st.tuples(st.lists(_op, min_size=1, max_size=6), st.booleans())


@dataclass
class _Model:
    live: dict[str, ServerHandle] = field(default_factory=dict)
    history: list[ServerHandle] = field(default_factory=list)

    def used(self) -> Resources:
        return sum((s.resources for s in self.live.values()), Resources())


async def _run(pop: EmulatedPop, model: _Model, op: Op, history: list[ServerHandle]) -> None:
    if op[0] == "create":
        request = ServerRequest("vm", "img", op[1])
        try:
            server = await pop.create_server(request)
        except ResourceExhausted:
            return
        assert server.resources == op[1]
        model.live[server.server_id] = server
        model.history.append(server)
    elif history:
        server = history[op[1] % len(history)]
        await pop.delete_server(server)
        model.live.pop(server.server_id, None)


async def _scenario(batches: list[tuple[list[Op], bool]]) -> None:
    store = YieldingStore()
    pop = EmulatedPop("prop", "r", TOTAL, store)
    await pop.start()
    model = _Model()
    for ops, restart in batches:
        if len(ops) == 1 and ops[0][0] == "create":
            # Alone, a create must succeed exactly when it fits.
            fits = ops[0][1].fits_in(TOTAL - model.used())
            before = len(model.live)
            await _run(pop, model, ops[0], list(model.history))
            assert (len(model.live) == before + 1) == fits
        else:
            history = list(model.history)
            await asyncio.gather(*(_run(pop, model, op, history) for op in ops))
        if restart:
            await pop.close()
            pop = EmulatedPop("prop", "r", TOTAL, store)
            await pop.start()
        capacity = await pop.capacity()
        assert capacity.used.fits_in(capacity.total)
        assert capacity.used == model.used()
        assert {s.server_id for s in pop.servers()} == set(model.live)
    await pop.close()


@settings(max_examples=150, deadline=None)
@given(st.lists(_batch, min_size=1, max_size=10))
def test_used_never_exceeds_total_and_equals_the_live_servers(
    batches: list[tuple[list[Op], bool]],
) -> None:
    asyncio.run(_scenario(batches))


async def _ports(cidr: str, gateway: str, steps: list[int | None]) -> None:
    pop = EmulatedPop("prop", "r", TOTAL, YieldingStore())
    await pop.start()
    network = await pop.create_network(NetworkRequest("n", cidr, gateway=gateway))
    subnet = ipaddress.ip_network(cidr)
    hosts = {
        a
        for a in subnet
        if a != subnet.network_address and (subnet.version == 6 or a != subnet.broadcast_address)
    }
    gateway_ip = ipaddress.ip_address(gateway) if gateway else min(hosts)
    ports: list[PortHandle] = []
    for step in steps:
        if step is None or not ports:
            try:
                ports.append(await pop.create_port(PortRequest("p", network)))
            except ResourceExhausted:
                assert len(ports) == len(hosts) - 1
        else:
            await pop.delete_port(ports.pop(step % len(ports)))
        addresses = [ipaddress.ip_interface(p.address) for p in ports]
        assert len(set(addresses)) == len(addresses)
        assert all(a.network == subnet and a.ip in hosts for a in addresses)
        assert gateway_ip not in {a.ip for a in addresses}
    await pop.close()


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(
        [
            ("10.0.0.0/29", ""),
            ("10.0.0.0/29", "10.0.0.6"),
            ("10.0.0.0/30", ""),
            ("2001:db8::/125", ""),
            ("2001:db8::/125", "2001:db8::7"),
        ]
    ),
    st.lists(st.one_of(st.none(), st.integers(0, 15)), max_size=30),
)
def test_ports_take_distinct_host_addresses_never_the_gateway(
    subnet: tuple[str, str], steps: list[int | None]
) -> None:
    asyncio.run(_ports(*subnet, steps))
