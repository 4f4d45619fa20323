"""Emulated specifics of subnets, addresses, MACs and segmentation ids."""

from __future__ import annotations

import pytest

from lower_sp.local.vim import EmulatedPop, NetworkRequest, PortRequest
from spfed.errors import AlreadyExists, InvalidArgument, ResourceExhausted


async def test_gateway_defaults_to_the_first_host(pop: EmulatedPop) -> None:
    net4 = await pop.create_network(NetworkRequest("n4", "10.0.0.0/24"))
    net6 = await pop.create_network(NetworkRequest("n6", "2001:db8::/64"))

    assert (await pop.create_port(PortRequest("p", net4))).address == "10.0.0.2/24"
    assert (await pop.create_port(PortRequest("p", net6))).address == "2001:db8::2/64"
    with pytest.raises(AlreadyExists, match="gateway"):
        await pop.create_port(PortRequest("p", net4, address="10.0.0.1"))


async def test_explicit_gateway_is_skipped(pop: EmulatedPop) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/29", gateway="10.0.0.6"))

    addresses = [(await pop.create_port(PortRequest("p", network))).address for _ in range(5)]

    assert addresses == [f"10.0.0.{i}/29" for i in (1, 2, 3, 4, 5)]
    with pytest.raises(ResourceExhausted):
        await pop.create_port(PortRequest("p", network))


@pytest.mark.parametrize(
    ("cidr", "gateway"),
    [
        ("10.0.0.0/24", "10.0.1.1"),
        ("10.0.0.0/24", "10.0.0.0"),
        ("10.0.0.0/24", "10.0.0.255"),
        ("10.0.0.0/24", "2001:db8::1"),
        ("10.0.0.0/24", "gw"),
        ("2001:db8::/64", "2001:db8::"),
    ],
)
async def test_gateway_must_be_a_host_of_the_subnet(
    pop: EmulatedPop, cidr: str, gateway: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await pop.create_network(NetworkRequest("n", cidr, gateway=gateway))

    assert raised.value.field_violations[0].field == "gateway"


@pytest.mark.parametrize("cidr", ["10.0.0.0/31", "10.0.0.1/32", "2001:db8::/127"])
async def test_subnet_must_hold_a_gateway_and_a_port(pop: EmulatedPop, cidr: str) -> None:
    with pytest.raises(InvalidArgument, match="too small") as raised:
        await pop.create_network(NetworkRequest("n", cidr))

    assert raised.value.field_violations[0].field == "cidr"


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.0.0.0/30", ["10.0.0.2/30"]),
        ("2001:db8::/126", ["2001:db8::2/126", "2001:db8::3/126"]),  # IPv6 has no broadcast
    ],
)
async def test_smallest_subnets_then_exhaustion(
    pop: EmulatedPop, cidr: str, expected: list[str]
) -> None:
    network = await pop.create_network(NetworkRequest("n", cidr))

    ports = [await pop.create_port(PortRequest("p", network)) for _ in expected]

    assert [p.address for p in ports] == expected
    with pytest.raises(ResourceExhausted) as raised:
        await pop.create_port(PortRequest("p", network))
    (violation,) = raised.value.quota_violations
    assert violation.subject == f"subnet:{network.subnet_id}"
    assert cidr in violation.description


async def test_ipv6_uses_the_last_address_ipv4_does_not(pop: EmulatedPop) -> None:
    net6 = await pop.create_network(NetworkRequest("n", "2001:db8::/126"))
    net4 = await pop.create_network(NetworkRequest("n", "10.0.0.0/30"))

    port = await pop.create_port(PortRequest("p", net6, address="2001:db8::3"))

    assert port.address == "2001:db8::3/126"
    with pytest.raises(InvalidArgument):
        await pop.create_port(PortRequest("p", net4, address="10.0.0.3"))


async def test_freed_addresses_are_reused_lowest_first(pop: EmulatedPop) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/28"))
    ports = [await pop.create_port(PortRequest("p", network)) for _ in range(4)]

    await pop.delete_port(ports[1])
    await pop.delete_port(ports[2])

    assert (await pop.create_port(PortRequest("p", network))).address == ports[1].address
    assert (await pop.create_port(PortRequest("p", network))).address == ports[2].address


async def test_explicit_address_in_canonical_form(pop: EmulatedPop) -> None:
    network = await pop.create_network(NetworkRequest("n", "2001:db8::/64"))

    port = await pop.create_port(PortRequest("p", network, address="2001:DB8:0::00ff"))

    assert port.address == "2001:db8::ff/64"
    with pytest.raises(AlreadyExists):
        await pop.create_port(PortRequest("p", network, address="2001:db8::ff"))


async def test_the_same_address_and_mac_on_two_networks(pop: EmulatedPop) -> None:
    a = await pop.create_network(NetworkRequest("a", "10.0.0.0/24"))
    b = await pop.create_network(NetworkRequest("b", "10.0.0.0/24"))

    on_a = await pop.create_port(PortRequest("p", a, address="10.0.0.9", mac="02:00:00:00:00:09"))
    on_b = await pop.create_port(PortRequest("p", b, address="10.0.0.9", mac="02:00:00:00:00:09"))

    assert on_a.address == on_b.address
    assert on_a.port_id != on_b.port_id


@pytest.mark.parametrize(
    ("asked", "kept"),
    [("02-AB-cd-00-00-01", "02:ab:cd:00:00:01"), (" 02:00:00:00:00:02 ", "02:00:00:00:00:02")],
)
async def test_mac_is_normalised(pop: EmulatedPop, asked: str, kept: str) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/24"))

    assert (await pop.create_port(PortRequest("p", network, mac=asked))).mac == kept


@pytest.mark.parametrize(
    "mac", ["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "02:00:00-00:00:01", "02:00:00:00:00:001"]
)
async def test_unusable_macs_are_invalid(pop: EmulatedPop, mac: str) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/24"))

    with pytest.raises(InvalidArgument) as raised:
        await pop.create_port(PortRequest("p", network, mac=mac))

    assert raised.value.field_violations[0].field == "mac"


async def test_segmentation_ids_are_unique_while_used(pop: EmulatedPop) -> None:
    first = await pop.create_network(NetworkRequest("a", "10.0.0.0/24", segmentation_id=100))
    await pop.create_network(NetworkRequest("any", "10.0.1.0/24"))
    await pop.create_network(NetworkRequest("any", "10.0.2.0/24"))  # 0 never clashes

    with pytest.raises(AlreadyExists, match="100"):
        await pop.create_network(NetworkRequest("b", "10.1.0.0/24", segmentation_id=100))

    await pop.delete_network(first)
    await pop.create_network(NetworkRequest("b", "10.1.0.0/24", segmentation_id=100))


@pytest.mark.parametrize("segment", [-1, 2**24])
async def test_segmentation_id_out_of_range_is_invalid(pop: EmulatedPop, segment: int) -> None:
    with pytest.raises(InvalidArgument):
        await pop.create_network(NetworkRequest("n", "10.0.0.0/24", segmentation_id=segment))


async def test_two_networks_may_share_a_segment_when_they_are_one_subnet(pop: EmulatedPop) -> None:
    """Two services' ends of one slice link: one segment, one subnet, addresses unique on it."""
    one = await pop.create_network(
        NetworkRequest("one", "172.16.0.0/31", point_to_point=True, segmentation_id=300)
    )
    two = await pop.create_network(
        NetworkRequest("two", "172.16.0.0/31", point_to_point=True, segmentation_id=300)
    )
    mine = await pop.create_port(PortRequest("a", one, address="172.16.0.0"))
    with pytest.raises(AlreadyExists, match=r"172\.16\.0\.0"):
        await pop.create_port(PortRequest("b", two, address="172.16.0.0"))
    theirs = await pop.create_port(PortRequest("b", two, address="172.16.0.1"))
    other = NetworkRequest("c", "172.16.0.2/31", point_to_point=True, segmentation_id=300)
    with pytest.raises(AlreadyExists, match="another subnet"):
        await pop.create_network(other)

    await pop.delete_port(mine)
    await pop.delete_network(one)  # the other end stays
    assert [n.name for n in pop.networks()] == ["two"]
    await pop.delete_port(theirs)
    await pop.delete_network(two)
    await pop.create_network(other)
