"""The ``Vim.tagged`` contract (orphan removal by intent key), as tests every driver must pass.

Mix ``TaggedContract`` into a test class that has an async fixture ``vim`` yielding a
started ``Vim`` with room for two ``small`` servers (a ``VimContract`` subclass has all
of it), e.g. ``class TestOpenStackVim(VimContract, TaggedContract)``. Each test draws
fresh random tags, and deletes everything that carries them at the end (found by
``tagged`` itself, so also what a failed test lost), so the tests can run against a
shared OpenStack.

Only the ``Vim`` protocol is used here: nothing driver-specific.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from lower_sp.local.vim import (
    NetworkHandle,
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
    ServerStatus,
    TaggedResources,
    Vim,
)
from spfed.errors import InvalidArgument, NotFound
from spfed.model import Resources

__all__ = ["BAD_TAGS", "LONGEST_TAG", "TaggedContract", "Tags", "remove_tagged"]

CIDR = "10.78.0.0/28"

LONGEST_TAG = "spfed-" + "a" * 54
"""60 characters: Nova's limit for a server tag."""

BAD_TAGS = (
    "intent-1",  # no spfed- prefix
    "spfed-",  # nothing after it
    "spfed-Intent",  # upper case
    "spfed-a/b",  # Nova refuses '/' in a server tag
    "spfed-a,b",  # and ',' (it separates tags in a list filter)
    "spfed-a b",
    "spfed-a\n",
    LONGEST_TAG + "a",  # 61 characters
)


async def remove_tagged(vim: Vim, tag: str) -> TaggedResources:
    """Delete everything on ``vim`` that carries ``tag``, servers first; what was found."""
    found = await vim.tagged(tag)
    for server in found.servers:
        await vim.delete_server(server)
    for port in found.ports:
        await vim.delete_port(port)
    for network in found.networks:
        await vim.delete_network(network)
    return found


class Tags:
    """Fresh tags and tagged creations on a ``Vim``; ``undo`` deletes all that carries them."""

    def __init__(self, vim: Vim, image: str, small: Resources) -> None:
        self.vim = vim
        self.image = image
        self.small = small
        self._tags: list[str] = []

    def new(self) -> str:
        """A tag no other test (nor another run on a shared cloud) uses."""
        tag = f"spfed-test-{secrets.token_hex(8)}"
        self._tags.append(tag)
        return tag

    def use(self, tag: str) -> str:
        """Clean ``tag`` up at the end as well."""
        self._tags.append(tag)
        return tag

    async def network(self, tag: str, name: str = "tagged-net") -> NetworkHandle:
        return await self.vim.create_network(NetworkRequest(name, CIDR, tag=tag))

    async def port(self, network: NetworkHandle, tag: str, name: str = "tagged-port") -> PortHandle:
        return await self.vim.create_port(PortRequest(name, network, tag=tag))

    async def server(self, tag: str, *ports: PortHandle) -> ServerHandle:
        return await self.vim.create_server(
            ServerRequest("tagged-vm", self.image, self.small, ports, tag=tag)
        )

    async def undo(self) -> None:
        """Delete what carries any of the tags: every server, then ports, then networks
        (a port of one tag may be on a network of another). Untagged leftovers of a test
        are the test's to delete."""
        found = [await self.vim.tagged(tag) for tag in self._tags]
        for server in (s for f in found for s in f.servers):
            await self.vim.delete_server(server)
        for port in (p for f in found for p in f.ports):
            await self.vim.delete_port(port)
        for network in (n for f in found for n in f.networks):
            await self.vim.delete_network(network)


def _ids(found: TaggedResources) -> tuple[set[str], set[str], set[str]]:
    return (
        {n.network_id for n in found.networks},
        {p.port_id for p in found.ports},
        {s.server_id for s in found.servers},
    )


def _only_tag_violations(error: InvalidArgument) -> bool:
    return bool(error.field_violations) and all(v.field == "tag" for v in error.field_violations)


class TaggedContract:
    """Tests of ``Vim.tagged`` and request tags; see the module docstring for how to use them."""

    image: ClassVar[str] = "contract-image"
    small: ClassVar[Resources] = Resources(vcpus=1, memory_mib=128, disk_gib=1)
    boot_timeout_s: ClassVar[float] = 10.0

    @pytest.fixture
    async def tags(self, vim: Vim) -> AsyncIterator[Tags]:
        tags = Tags(vim, self.image, self.small)
        try:
            yield tags
        finally:
            await tags.undo()

    async def test_created_handles_carry_their_tag(self, tags: Tags) -> None:
        tag = tags.new()
        network = await tags.network(tag)
        port = await tags.port(network, tag)
        server = await tags.server(tag, port)

        assert (network.tag, port.tag, server.tag) == (tag, tag, tag)

    async def test_tagged_finds_exactly_what_carries_the_tag(self, vim: Vim, tags: Tags) -> None:
        tag, other = tags.new(), tags.new()
        network = await tags.network(tag)
        port = await tags.port(network, tag)
        server = await tags.server(tag, port)
        untagged_port = await tags.port(network, "")
        other_network = await tags.network(other)
        other_port = await tags.port(network, other)
        untagged_server = await tags.server("")
        try:
            found = await vim.tagged(tag)

            # The handles are the ones the creates returned: same ids, names, addresses.
            assert found == TaggedResources((network,), (port,), (server,))
            assert found
            assert not found.empty
            elsewhere = await vim.tagged(other)
            assert _ids(elsewhere) == ({other_network.network_id}, {other_port.port_id}, set())
            assert not await vim.tagged(tags.new())
        finally:
            await vim.delete_server(untagged_server)
            await vim.delete_port(untagged_port)

    async def test_lost_handles_are_found_and_deleted_by_tag(self, vim: Vim, tags: Tags) -> None:
        tag = tags.new()
        # As if the caller crashed before it recorded any of the handles.
        network_id = (await tags.network(tag)).network_id
        (network,) = (await vim.tagged(tag)).networks
        port_id = (await tags.port(network, tag)).port_id
        server_id = (await tags.server(tag, *(await vim.tagged(tag)).ports)).server_id

        removed = await remove_tagged(vim, tag)

        assert _ids(removed) == ({network_id}, {port_id}, {server_id})
        (server,) = removed.servers
        assert server.port_ids == (port_id,)
        assert await vim.server_status(server) == ServerStatus.DELETED
        with pytest.raises(NotFound):  # the network is really gone
            await vim.create_port(PortRequest("late", removed.networks[0]))
        assert (await vim.tagged(tag)).empty

    async def test_a_server_is_found_while_it_boots_and_deleted(self, vim: Vim, tags: Tags) -> None:
        tag = tags.new()
        await tags.server(tag)

        (server,) = (await vim.tagged(tag)).servers
        await vim.delete_server(server)

        assert await vim.server_status(server) == ServerStatus.DELETED
        assert not await vim.tagged(tag)

    async def test_deleted_objects_no_longer_carry_the_tag(self, vim: Vim, tags: Tags) -> None:
        tag = tags.new()
        network = await tags.network(tag)
        port = await tags.port(network, tag)
        server = await tags.server(tag, port)
        kept = await tags.port(network, tag, name="kept")

        await vim.delete_server(server)
        await vim.delete_port(port)

        assert await vim.tagged(tag) == TaggedResources((network,), (kept,), ())

    async def test_the_longest_tag_fits_every_kind(self, vim: Vim, tags: Tags) -> None:
        unique = secrets.token_hex(6)
        tag = tags.use(LONGEST_TAG[: -len(unique)] + unique)
        assert len(tag) == 60
        network = await tags.network(tag)
        port = await tags.port(network, tag)
        server = await tags.server(tag, port)

        found = await vim.tagged(tag)

        assert _ids(found) == ({network.network_id}, {port.port_id}, {server.server_id})

    @pytest.mark.parametrize("bad", BAD_TAGS)
    async def test_a_malformed_tag_is_refused_and_changes_nothing(
        self, vim: Vim, tags: Tags, bad: str
    ) -> None:
        tag = tags.new()
        network = await tags.network(tag)

        with pytest.raises(InvalidArgument) as refused_network:
            await vim.create_network(NetworkRequest("bad", CIDR, tag=bad))
        with pytest.raises(InvalidArgument) as refused_port:
            await vim.create_port(PortRequest("bad", network, tag=bad))
        with pytest.raises(InvalidArgument) as refused_server:
            await vim.create_server(ServerRequest("bad", self.image, self.small, tag=bad))

        for refused in (refused_network, refused_port, refused_server):
            assert _only_tag_violations(refused.value), refused.value
        assert await vim.tagged(tag) == TaggedResources((network,), (), ())

    @pytest.mark.parametrize("bad", ["", *BAD_TAGS])
    async def test_tagged_needs_a_well_formed_tag(self, vim: Vim, bad: str) -> None:
        with pytest.raises(InvalidArgument) as refused:
            await vim.tagged(bad)

        assert _only_tag_violations(refused.value)

    async def test_concurrent_tagged_creations_are_all_found(self, vim: Vim, tags: Tags) -> None:
        tag = tags.new()
        network = await tags.network(tag)

        ports = await asyncio.gather(*(tags.port(network, tag, name=f"p{i}") for i in range(4)))

        found = await vim.tagged(tag)
        assert {p.port_id for p in found.ports} == {p.port_id for p in ports}
