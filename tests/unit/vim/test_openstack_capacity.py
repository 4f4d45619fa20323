"""The OpenStack driver's capacity: on each axis the source with the least room wins."""

from __future__ import annotations

import pytest

from lower_sp.local.vim.openstack.capacity import CapacitySources, QuotaLimits, combine
from spfed.errors import FailedPrecondition
from spfed.model import Resources

QUOTA = QuotaLimits(max_cores=20, used_cores=4, max_ram_mib=51200, used_ram_mib=1024)
HOSTS = (Resources(32, 12288, 600), Resources(30, 2048, 10))


def test_quota_and_hosts_each_bound_the_axis_where_they_are_tighter() -> None:
    sources = CapacitySources(
        configured=Resources(), project_used=Resources(4, 1024, 4), quota=QUOTA, hosts=HOSTS
    )

    capacity, chosen = combine(sources, pop="os1")

    assert chosen == {"vcpus": "hosts", "memory_mib": "hosts", "disk_gib": "hosts"}
    assert capacity.total == Resources(32, 12288, 600)
    assert capacity.free == Resources(2, 10240, 590)


def test_quota_alone_for_an_account_that_cannot_read_placement() -> None:
    sources = CapacitySources(
        configured=Resources(disk_gib=100), project_used=Resources(4, 1024, 7), quota=QUOTA
    )

    capacity, chosen = combine(sources, pop="os1")

    assert chosen == {"vcpus": "quota", "memory_mib": "quota", "disk_gib": "configured"}
    assert capacity.total == Resources(20, 51200, 100)
    assert capacity.used == Resources(4, 1024, 7)


def test_an_unlimited_quota_does_not_bound() -> None:
    unlimited = QuotaLimits(-1, 3, -1, 512)
    sources = CapacitySources(
        configured=Resources(8, 4096, 50), project_used=Resources(3, 512, 3), quota=unlimited
    )

    capacity, chosen = combine(sources, pop="os1")

    assert set(chosen.values()) == {"configured"}
    assert capacity.total == Resources(8, 4096, 50)


def test_configured_capacity_can_be_tighter_than_the_quota() -> None:
    sources = CapacitySources(
        configured=Resources(vcpus=6, disk_gib=10), project_used=Resources(4, 1024, 2), quota=QUOTA
    )

    capacity, chosen = combine(sources, pop="os1")

    assert chosen["vcpus"] == "configured"
    assert capacity.free.vcpus == 2


def test_an_axis_no_source_bounds_names_the_field_to_configure() -> None:
    sources = CapacitySources(configured=Resources(), project_used=Resources(), quota=QUOTA)

    with pytest.raises(FailedPrecondition) as raised:
        combine(sources, pop="os1")

    assert [v.field for v in raised.value.field_violations] == ["pops.os1.capacity.disk_gib"]
