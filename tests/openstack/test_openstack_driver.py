"""What only a real OpenStack shows about the driver: capacity from quotas and Placement,
quotas lowered until they bite, images by md5, bad clouds, cancellation and restarts,
and tags: where the cloud keeps them, and lost handles found by a restarted driver."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lower_sp.local.vim import (
    NetworkHandle,
    NetworkRequest,
    PortRequest,
    ServerRequest,
    ServerStatus,
    TaggedResources,
)
from lower_sp.local.vim.openstack import OpenStackVim
from spfed.errors import FailedPrecondition, ResourceExhausted, Unavailable
from spfed.model import Resources
from tests.openstack._cloud import driver_options, uploaded_image
from tests.openstack.harness import CloudInfo
from tests.unit.vim.tagged_contract import remove_tagged

pytestmark = pytest.mark.openstack

TINY = Resources(1, 128, 1)
DISK = Resources(disk_gib=500)
ZEROS = bytes(65536)


@pytest.fixture
async def vim(openstack_cloud: CloudInfo) -> AsyncIterator[OpenStackVim]:
    pop = OpenStackVim("os1", "eu-west", driver_options(openstack_cloud), DISK)
    await pop.start()
    yield pop
    await pop.close()


def _servers_named(admin: Any, project_id: str, prefix: str) -> list[Any]:
    return [
        s
        for s in admin.compute.servers(all_projects=True, project_id=project_id)
        if s.name.startswith(prefix)
    ]


# --- capacity ------------------------------------------------------------------------


async def test_a_member_gets_vcpus_and_memory_from_the_project_quota(
    vim: OpenStackVim, admin: Any, openstack_cloud: CloudInfo
) -> None:
    quota = admin.get_compute_quotas(openstack_cloud.project_id)

    capacity = await vim.capacity()

    assert capacity.total == Resources(quota.cores, quota.ram, DISK.disk_gib)


async def test_an_admin_gets_disk_from_placement(admin: Any, openstack_cloud: CloudInfo) -> None:
    options = driver_options(openstack_cloud, cloud=openstack_cloud.admin_cloud)
    pop = OpenStackVim("os-admin", "eu-west", options, Resources())
    inventories = [
        inventory
        for provider in admin.placement.resource_providers()
        for inventory in admin.placement.resource_provider_inventories(provider)
        if inventory.resource_class == "DISK_GB"
    ]
    expected = sum(int((i.total - i.reserved) * i.allocation_ratio) for i in inventories)

    await pop.start()
    try:
        capacity = await pop.capacity()
    finally:
        await pop.close()

    assert inventories, "the cloud has a compute host in Placement"
    assert capacity.total.disk_gib == expected  # no disk quota, nothing configured


# --- quotas that bite ----------------------------------------------------------------


async def test_a_lowered_cores_quota_refuses_a_server_and_changes_nothing(
    vim: OpenStackVim, admin: Any, openstack_cloud: CloudInfo
) -> None:
    project = openstack_cloud.project_id
    before = admin.get_compute_quotas(project)
    used = (await vim.capacity()).used
    admin.set_compute_quotas(project, cores=used.vcpus + 1)
    try:
        assert (await vim.capacity()).free.vcpus == 1

        with pytest.raises(ResourceExhausted) as raised:
            await vim.create_server(
                ServerRequest("q-cores", "spfed-test-image", Resources(2, 128, 1))
            )

        (violation,) = raised.value.quota_violations
        assert violation.subject == "pop:os1"
        assert "cores" in violation.description.lower()
        assert raised.value.metadata["http_status"] == "403"
        assert not _servers_named(admin, project, "q-cores")
    finally:
        admin.set_compute_quotas(project, cores=before.cores)


async def test_a_lowered_instances_quota_refuses_a_server(
    vim: OpenStackVim, admin: Any, openstack_cloud: CloudInfo
) -> None:
    project = openstack_cloud.project_id
    before = admin.get_compute_quotas(project)
    running = len(list(admin.compute.servers(all_projects=True, project_id=project)))
    admin.set_compute_quotas(project, instances=running)
    try:
        with pytest.raises(ResourceExhausted, match=r"(?i)instances"):
            await vim.create_server(ServerRequest("q-instances", "spfed-test-image", TINY))
    finally:
        admin.set_compute_quotas(project, instances=before.instances)


async def test_a_lowered_port_quota_refuses_a_port(
    vim: OpenStackVim, admin: Any, openstack_cloud: CloudInfo
) -> None:
    project = openstack_cloud.project_id
    network = await vim.create_network(NetworkRequest("q-ports", "10.88.0.0/28"))
    before = admin.get_network_quotas(project)
    ports = len(list(admin.network.ports(project_id=project)))
    admin.set_network_quotas(project, port=ports)
    try:
        with pytest.raises(ResourceExhausted) as raised:
            await vim.create_port(PortRequest("q-port", network))
        assert raised.value.quota_violations[0].subject == "pop:os1"
    finally:
        admin.set_network_quotas(project, port=before.ports)
        await vim.delete_network(network)


# --- what Neutron refuses ------------------------------------------------------------


async def test_the_lower_address_of_a_31_is_refused_with_the_setting_to_change(
    vim: OpenStackVim,
) -> None:
    network = await vim.create_network(NetworkRequest("p2p", "10.87.0.2/31", point_to_point=True))
    try:
        high = await vim.create_port(PortRequest("high", network, address="10.87.0.3"))
        with pytest.raises(FailedPrecondition) as raised:
            await vim.create_port(PortRequest("low", network, address="10.87.0.2"))
        assert [v.field for v in raised.value.field_violations] == [
            "addressing.point_to_point_links"
        ]
        await vim.delete_port(high)
    finally:
        await vim.delete_network(network)


async def test_ports_without_port_security_carry_no_security_group(
    admin: Any, openstack_cloud: CloudInfo
) -> None:
    options = driver_options(openstack_cloud, port_security="off")
    pop = OpenStackVim("os-open", "eu-west", options, DISK)
    await pop.start()
    try:
        network = await pop.create_network(NetworkRequest("open", "10.86.0.0/28"))
        port = await pop.create_port(PortRequest("open", network, address="10.86.0.5"))
        seen = admin.network.get_port(port.port_id)
        assert seen.is_port_security_enabled is False
        assert not seen.security_group_ids
        await pop.delete_port(port)
        await pop.delete_network(network)
    finally:
        await pop.close()


# --- images --------------------------------------------------------------------------


async def test_a_sonata_image_is_found_by_its_md5(
    vim: OpenStackVim, admin: Any, openstack_cloud: CloudInfo
) -> None:
    md5 = hashlib.md5(ZEROS, usedforsecurity=False).hexdigest()
    with uploaded_image(admin, "spfed-md5-image", ZEROS) as image:
        request = ServerRequest("by-md5", "http://vendor.example/vtc.qcow2", TINY, image_md5=md5)
        server = await vim.create_server(request)
        try:
            await vim.wait_active(server, 60)
            assert admin.compute.get_server(server.server_id).image.id == image.id
        finally:
            await vim.delete_server(server)

        with pytest.raises(FailedPrecondition, match="md5"):
            await vim.create_server(
                ServerRequest("wrong-md5", "spfed-test-image", TINY, image_md5=md5)
            )


async def test_a_missing_image_is_a_failed_precondition(vim: OpenStackVim) -> None:
    with pytest.raises(FailedPrecondition, match="upload it to Glance"):
        await vim.create_server(ServerRequest("no-image", "never-uploaded", TINY))


# --- clouds that do not work ---------------------------------------------------------


def _clouds_yaml(cloud: CloudInfo, tmp: Path, **auth: Any) -> Path:
    data = yaml.safe_load(cloud.clouds_yaml.read_text())
    data["clouds"][cloud.cloud]["auth"].update(auth)
    path = tmp / "clouds.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def _start(info: CloudInfo, **overrides: Any) -> None:
    pop = OpenStackVim("os-bad", "eu-west", driver_options(info, **overrides), DISK)
    try:
        await pop.start()
    finally:
        await pop.close()


async def test_an_unreachable_keystone_is_unavailable(
    openstack_cloud: CloudInfo, tmp_path: Path
) -> None:
    path = _clouds_yaml(openstack_cloud, tmp_path, auth_url="http://127.0.0.1:9/v3")

    with pytest.raises(Unavailable, match="pop os-bad"):
        await _start(openstack_cloud, clouds_yaml=str(path), api_timeout_s=5.0)


async def test_a_wrong_password_is_a_failed_precondition(
    openstack_cloud: CloudInfo, tmp_path: Path
) -> None:
    path = _clouds_yaml(openstack_cloud, tmp_path, password="not-the-password")

    with pytest.raises(FailedPrecondition):
        await _start(openstack_cloud, clouds_yaml=str(path))


async def test_an_unknown_cloud_is_a_failed_precondition(openstack_cloud: CloudInfo) -> None:
    with pytest.raises(FailedPrecondition, match="nowhere"):
        await _start(openstack_cloud, cloud="nowhere")


# --- cancellation, restarts, parallel boots -----------------------------------------


async def test_a_cancelled_boot_leaves_no_server(admin: Any, openstack_cloud: CloudInfo) -> None:
    pop = OpenStackVim("os1", "eu-west", driver_options(openstack_cloud), DISK)
    await pop.start()
    boot = asyncio.ensure_future(
        pop.create_server(ServerRequest("cancelled-boot", "spfed-test-image", TINY))
    )
    await asyncio.sleep(0.05)
    boot.cancel()
    with pytest.raises(asyncio.CancelledError):
        await boot

    await pop.close()  # waits for the clean-up of what the cancelled call made

    assert not _servers_named(admin, openstack_cloud.project_id, "cancelled-boot")


async def test_handles_outlive_the_driver_that_made_them(openstack_cloud: CloudInfo) -> None:
    first = OpenStackVim("os1", "eu-west", driver_options(openstack_cloud), DISK)
    await first.start()
    network = await first.create_network(NetworkRequest("restart", "10.89.0.0/28"))
    port = await first.create_port(PortRequest("restart", network, address="10.89.0.9"))
    server = await first.create_server(ServerRequest("restart", "spfed-test-image", TINY, (port,)))
    await first.close()

    second = OpenStackVim("os1", "eu-west", driver_options(openstack_cloud), DISK)
    await second.start()
    try:
        await second.wait_active(server, 60)
        with pytest.raises(FailedPrecondition):  # Nova's binding is the record now
            await second.delete_port(port)
        await second.delete_server(server)
        await second.delete_port(port)
        await second.delete_network(network)
        assert await second.server_status(server) == ServerStatus.DELETED
    finally:
        await second.close()


async def test_five_servers_boot_in_parallel(vim: OpenStackVim) -> None:
    servers = await asyncio.gather(
        *(vim.create_server(ServerRequest(f"par-{i}", "spfed-test-image", TINY)) for i in range(5))
    )
    try:
        await asyncio.gather(*(vim.wait_active(s, 90) for s in servers))
        statuses = await asyncio.gather(*(vim.server_status(s) for s in servers))
        assert set(statuses) == {ServerStatus.ACTIVE}
    finally:
        await asyncio.gather(*(vim.delete_server(s) for s in servers))


# --- tags: orphans of a crash -----------------------------------------------------------


def _fresh_tag() -> str:
    return f"spfed-os-{secrets.token_hex(8)}"


async def test_the_cloud_keeps_the_tag_where_any_tool_sees_it(
    vim: OpenStackVim, admin: Any
) -> None:
    tag = _fresh_tag()
    try:
        network = await vim.create_network(NetworkRequest("seen", "10.88.0.0/28", tag=tag))
        port = await vim.create_port(PortRequest("seen", network, tag=tag))
        server = await vim.create_server(
            ServerRequest("seen", "spfed-test-image", TINY, (port,), tag=tag)
        )

        # Nova: a server tag (set in the create, 2.52); Neutron: the description.
        assert admin.compute.get_server(server.server_id).tags == [tag]
        assert admin.network.get_network(network.network_id).description == tag
        assert admin.network.get_subnet(network.subnet_id).description == tag
        assert admin.network.get_port(port.port_id).description == tag
    finally:
        await remove_tagged(vim, tag)


async def test_a_restarted_driver_finds_lost_handles_by_tag_and_removes_them(
    admin: Any, openstack_cloud: CloudInfo
) -> None:
    tag = _fresh_tag()
    first = OpenStackVim("os1", "eu-west", driver_options(openstack_cloud), DISK)
    await first.start()
    network = await first.create_network(NetworkRequest("lost", "10.87.0.0/28", tag=tag))
    port = await first.create_port(PortRequest("lost", network, address="10.87.0.9", tag=tag))
    server = await first.create_server(
        ServerRequest("lost", "spfed-test-image", TINY, (port,), tag=tag)
    )
    await first.wait_active(server, 60)
    await first.close()  # the node crashed: its handles are gone with it

    second = OpenStackVim("os1", "eu-west", driver_options(openstack_cloud), DISK)
    await second.start()
    try:
        found = await second.tagged(tag)
        # The same handles, the server's ports read from Neutron's binding.
        assert found == TaggedResources((network,), (port,), (server,))

        await remove_tagged(second, tag)

        assert (await second.tagged(tag)).empty
        assert admin.compute.find_server(server.server_id, ignore_missing=True) is None
        assert admin.network.find_port(port.port_id, ignore_missing=True) is None
        assert admin.network.find_network(network.network_id, ignore_missing=True) is None
    finally:
        await remove_tagged(second, tag)
        await second.close()


async def test_a_network_whose_subnet_was_never_made_is_found_and_deleted(
    vim: OpenStackVim, admin: Any, openstack_cloud: CloudInfo
) -> None:
    # A crash between Neutron's network and its subnet.
    tag = _fresh_tag()
    made = admin.network.create_network(
        name="half", description=tag, project_id=openstack_cloud.project_id
    )
    try:
        found = await vim.tagged(tag)

        assert found.networks == (NetworkHandle(vim.name, made.id, "", "half", "", tag),)
        await vim.delete_network(found.networks[0])
        assert admin.network.find_network(made.id, ignore_missing=True) is None
    finally:
        admin.network.delete_network(made.id, ignore_missing=True)


async def test_tagged_lists_only_the_pops_own_project(
    vim: OpenStackVim, openstack_cloud: CloudInfo
) -> None:
    # An admin account sees every project's networks unless the driver filters.
    tag = _fresh_tag()
    options = driver_options(openstack_cloud, cloud=openstack_cloud.admin_cloud)
    elsewhere = OpenStackVim("os-admin", "eu-west", options, Resources())
    await elsewhere.start()
    try:
        network = await vim.create_network(NetworkRequest("own", "10.86.0.0/28", tag=tag))
        port = await vim.create_port(PortRequest("own", network, tag=tag))

        assert await vim.tagged(tag) == TaggedResources((network,), (port,), ())
        assert (await elsewhere.tagged(tag)).empty
    finally:
        await elsewhere.close()
        await remove_tagged(vim, tag)
