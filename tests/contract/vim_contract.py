"""The ``Vim`` contract, as tests every driver must pass.

Use it by subclassing ``VimContract`` in a ``test_*.py`` module as ``Test...``
and giving the subclass an async fixture ``vim`` that yields a started ``Vim``
with room for at least two ``small`` servers. Override ``image``, ``small`` and
``boot_timeout_s`` for a real cloud. Every test deletes what it created (even
when it fails), so the suite can run against a shared OpenStack.

Only the ``Vim`` protocol is used here: nothing driver-specific.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from lower_sp.local.vim import (
    NetworkHandle,
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
    ServerStatus,
    Vim,
)
from spfed.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from spfed.model import Resources

__all__ = ["Made", "VimContract"]

CIDR = "10.77.0.0/28"  # hosts .1 (gateway) to .14, broadcast .15
CIDR6 = "2001:db8:77::/64"


class Made:
    """Creates resources on a ``Vim`` and deletes them all afterwards, servers first."""

    def __init__(self, vim: Vim, image: str, small: Resources) -> None:
        self.vim = vim
        self.image = image
        self.small = small
        self._servers: list[ServerHandle] = []
        self._ports: list[PortHandle] = []
        self._networks: list[NetworkHandle] = []

    async def network(
        self, cidr: str = CIDR, name: str = "contract-net", **kw: Any
    ) -> NetworkHandle:
        handle = await self.vim.create_network(NetworkRequest(name, cidr, **kw))
        self._networks.append(handle)
        return handle

    async def port(
        self, network: NetworkHandle, name: str = "contract-port", **kw: Any
    ) -> PortHandle:
        handle = await self.vim.create_port(PortRequest(name, network, **kw))
        self._ports.append(handle)
        return handle

    def server_request(
        self, *ports: PortHandle, resources: Resources | None = None, name: str = "contract-vm"
    ) -> ServerRequest:
        return ServerRequest(name, self.image, resources or self.small, ports)

    async def server(self, *ports: PortHandle, resources: Resources | None = None) -> ServerHandle:
        handle = await self.vim.create_server(self.server_request(*ports, resources=resources))
        self._servers.append(handle)
        return handle

    async def undo(self) -> None:
        for server in reversed(self._servers):
            await self.vim.delete_server(server)
        for port in reversed(self._ports):
            await self.vim.delete_port(port)
        for network in reversed(self._networks):
            await self.vim.delete_network(network)


class VimContract:
    """Tests of the ``Vim`` contract; see the module docstring for how to use them."""

    image: ClassVar[str] = "contract-image"
    small: ClassVar[Resources] = Resources(vcpus=1, memory_mib=128, disk_gib=1)
    boot_timeout_s: ClassVar[float] = 10.0

    @pytest.fixture
    async def made(self, vim: Vim) -> AsyncIterator[Made]:
        made = Made(vim, self.image, self.small)
        try:
            yield made
        finally:
            await made.undo()

    async def wait_status(self, vim: Vim, server: ServerHandle, wanted: ServerStatus) -> None:
        async with asyncio.timeout(self.boot_timeout_s):
            while (status := await vim.server_status(server)) != wanted:
                assert status in {ServerStatus.BUILD, ServerStatus.ACTIVE}, status
                await asyncio.sleep(0.01)

    # Networks

    async def test_network_handle_names_this_pop(self, vim: Vim, made: Made) -> None:
        network = await made.network(CIDR, name="n1")

        assert network.vim == vim.name
        assert network.network_id
        assert network.subnet_id
        assert network.name == "n1"
        assert network.cidr == CIDR

    async def test_network_cidr_comes_back_canonical(self, made: Made) -> None:
        network = await made.network("2001:DB8:77:0::/64")

        assert network.cidr == CIDR6

    @pytest.mark.parametrize("cidr", ["10.77.0.0/33", "not-a-cidr", "10.77.0.1/28", ""])
    async def test_malformed_cidr_is_invalid(self, made: Made, cidr: str) -> None:
        with pytest.raises(InvalidArgument):
            await made.network(cidr)

    async def test_delete_network_twice_succeeds(self, vim: Vim, made: Made) -> None:
        network = await made.network()

        await vim.delete_network(network)
        await vim.delete_network(network)

        with pytest.raises(NotFound):
            await made.port(network)

    async def test_network_with_ports_cannot_be_deleted(self, vim: Vim, made: Made) -> None:
        network = await made.network()
        port = await made.port(network)

        with pytest.raises(FailedPrecondition):
            await vim.delete_network(network)

        await vim.delete_port(port)
        await vim.delete_network(network)

    # Ports

    async def test_automatic_addresses_are_distinct_hosts(self, made: Made) -> None:
        network = await made.network(CIDR)
        subnet = ipaddress.ip_network(CIDR)

        ports = [await made.port(network) for _ in range(3)]

        interfaces = [ipaddress.ip_interface(p.address) for p in ports]
        assert all(i.network == subnet for i in interfaces), "address given with the prefix"
        addresses = {i.ip for i in interfaces}
        assert len(addresses) == 3
        assert not addresses & {subnet.network_address, subnet.broadcast_address}
        assert all(p.network_id == network.network_id for p in ports)

    async def test_automatic_address_is_never_the_gateway(self, made: Made) -> None:
        network = await made.network(CIDR, gateway="10.77.0.5")

        ports = [await made.port(network) for _ in range(6)]

        assert "10.77.0.5/28" not in {p.address for p in ports}

    async def test_explicit_address_and_mac(self, vim: Vim, made: Made) -> None:
        network = await made.network(CIDR)

        port = await made.port(network, name="p9", address="10.77.0.9", mac="02:AB:CD:00:00:09")

        assert port.vim == vim.name
        assert port.port_id
        assert port.name == "p9"
        assert port.address == "10.77.0.9/28"
        assert port.mac == "02:ab:cd:00:00:09"

    async def test_generated_mac_is_locally_administered_unicast(self, made: Made) -> None:
        network = await made.network()

        macs = {(await made.port(network)).mac for _ in range(3)}

        assert len(macs) == 3
        for mac in macs:
            octets = [int(o, 16) for o in mac.split(":")]
            assert len(octets) == 6
            assert octets[0] & 0x02, f"{mac} is not locally administered"
            assert not octets[0] & 0x01, f"{mac} is multicast"

    async def test_ipv6_port(self, made: Made) -> None:
        network = await made.network(CIDR6)

        auto = await made.port(network)
        explicit = await made.port(network, address="2001:db8:77::99")

        assert ipaddress.ip_interface(auto.address).network == ipaddress.ip_network(CIDR6)
        assert ipaddress.ip_interface(auto.address).ip != ipaddress.ip_address("2001:db8:77::")
        assert explicit.address == "2001:db8:77::99/64"

    @pytest.mark.parametrize(
        "address", ["10.77.0.16", "10.78.0.5", "2001:db8:77::5", "10.77.0.0", "10.77.0.15", "x"]
    )
    async def test_address_outside_hosts_is_invalid(self, made: Made, address: str) -> None:
        network = await made.network(CIDR)

        with pytest.raises(InvalidArgument):
            await made.port(network, address=address)

    async def test_taken_address_already_exists(self, vim: Vim, made: Made) -> None:
        network = await made.network(CIDR)
        first = await made.port(network, address="10.77.0.7")

        with pytest.raises(AlreadyExists):
            await made.port(network, address="10.77.0.7")

        await vim.delete_port(first)
        again = await made.port(network, address="10.77.0.7")
        assert again.address == "10.77.0.7/28"

    async def test_taken_mac_already_exists(self, made: Made) -> None:
        network = await made.network(CIDR)
        await made.port(network, mac="02:00:00:00:77:01")

        with pytest.raises(AlreadyExists):
            await made.port(network, mac="02:00:00:00:77:01")

    @pytest.mark.parametrize("mac", ["02:00:00:00:77", "zz:00:00:00:00:01", "01:00:5e:00:00:01"])
    async def test_malformed_or_multicast_mac_is_invalid(self, made: Made, mac: str) -> None:
        network = await made.network(CIDR)

        with pytest.raises(InvalidArgument):
            await made.port(network, mac=mac)

    async def test_delete_port_twice_succeeds(self, vim: Vim, made: Made) -> None:
        network = await made.network()
        port = await made.port(network)

        await vim.delete_port(port)
        await vim.delete_port(port)

        with pytest.raises(NotFound):
            await made.server(port)

    # Servers

    async def test_server_lifecycle_and_capacity(self, vim: Vim, made: Made) -> None:
        network = await made.network()
        ports = (await made.port(network), await made.port(network))
        before = await vim.capacity()

        server = await made.server(*ports)

        assert server.vim == vim.name
        assert server.server_id
        assert server.name == "contract-vm"
        assert server.port_ids == tuple(p.port_id for p in ports)
        assert self.small.fits_in(server.resources)
        await self.wait_status(vim, server, ServerStatus.ACTIVE)
        during = await vim.capacity()
        assert during.total == before.total
        assert during.used == before.used + server.resources
        assert during.free == before.free - server.resources

        await vim.delete_server(server)
        await vim.delete_server(server)

        assert await vim.server_status(server) == ServerStatus.DELETED
        assert (await vim.capacity()).used == before.used

    async def test_wait_active_returns_once_the_server_is_active(
        self, vim: Vim, made: Made
    ) -> None:
        network = await made.network()
        server = await made.server(await made.port(network))

        await vim.wait_active(server, self.boot_timeout_s)

        assert await vim.server_status(server) == ServerStatus.ACTIVE

    async def test_wait_active_on_a_deleted_server_fails(self, vim: Vim, made: Made) -> None:
        server = await made.server()
        await vim.delete_server(server)

        with pytest.raises(FailedPrecondition):
            await vim.wait_active(server, self.boot_timeout_s)

    async def test_server_that_does_not_fit_changes_nothing(self, vim: Vim, made: Made) -> None:
        network = await made.network()
        port = await made.port(network)
        before = await vim.capacity()
        too_big = replace(self.small, vcpus=max(before.free.vcpus, 0) + 1)

        with pytest.raises(ResourceExhausted) as raised:
            await made.server(port, resources=too_big)

        (violation,) = raised.value.quota_violations
        assert violation.subject == f"pop:{vim.name}"
        assert str(too_big.vcpus) in violation.description
        assert await vim.capacity() == before
        await made.server(port)  # the port was not taken by the refused server

    async def test_port_belongs_to_one_server_at_a_time(self, vim: Vim, made: Made) -> None:
        network = await made.network()
        port = await made.port(network)
        first = await made.server(port)

        with pytest.raises(FailedPrecondition):
            await made.server(port)

        await vim.delete_server(first)
        second = await made.server(port)
        assert second.port_ids == (port.port_id,)

    async def test_port_of_a_live_server_cannot_be_deleted(self, vim: Vim, made: Made) -> None:
        network = await made.network()
        port = await made.port(network)
        server = await made.server(port)

        with pytest.raises(FailedPrecondition):
            await vim.delete_port(port)

        await vim.delete_server(server)
        await vim.delete_port(port)

    async def test_server_without_ports(self, vim: Vim, made: Made) -> None:
        server = await made.server()

        assert server.port_ids == ()
        await self.wait_status(vim, server, ServerStatus.ACTIVE)

    async def test_server_needs_a_name_and_an_image(self, vim: Vim) -> None:
        with pytest.raises(InvalidArgument):
            await vim.create_server(ServerRequest("", self.image, self.small))
        with pytest.raises(InvalidArgument):
            await vim.create_server(ServerRequest("vm", "", self.small))

    async def test_handles_of_another_pop_are_refused(self, vim: Vim, made: Made) -> None:
        network = await made.network()
        port = await made.port(network)
        server = await made.server()
        elsewhere = vim.name + "-elsewhere"

        with pytest.raises(InvalidArgument):
            await vim.delete_network(replace(network, vim=elsewhere))
        with pytest.raises(InvalidArgument):
            await made.port(replace(network, vim=elsewhere))
        with pytest.raises(InvalidArgument):
            await vim.delete_port(replace(port, vim=elsewhere))
        with pytest.raises(InvalidArgument):
            await made.server(replace(port, vim=elsewhere))
        with pytest.raises(InvalidArgument):
            await vim.server_status(replace(server, vim=elsewhere))
        with pytest.raises(InvalidArgument):
            await vim.delete_server(replace(server, vim=elsewhere))
        with pytest.raises(InvalidArgument):
            await vim.wait_active(replace(server, vim=elsewhere), self.boot_timeout_s)
