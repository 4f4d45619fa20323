"""The ``Vim`` contract against a real OpenStack (Keystone, Neutron, Nova, Glance,
Placement) brought up by the qualification harness: the same tests as the emulated PoP,
``Vim.tagged`` (orphan removal by tag) included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lower_sp.local.vim import Vim
from lower_sp.local.vim.openstack import OpenStackVim
from spfed.model import Resources
from tests.contract.vim_contract import VimContract
from tests.openstack._cloud import driver_options
from tests.openstack.harness import CloudInfo
from tests.unit.vim.tagged_contract import TaggedContract

pytestmark = pytest.mark.openstack


class TestOpenStackVim(VimContract, TaggedContract):
    image = "spfed-test-image"
    small = Resources(vcpus=1, memory_mib=128, disk_gib=1)
    boot_timeout_s = 60.0

    @pytest.fixture
    async def vim(self, openstack_cloud: CloudInfo) -> AsyncIterator[Vim]:
        # The member account cannot read Placement and Nova has no disk quota: disk is
        # configured, vCPUs and memory come from the project's quota.
        pop = OpenStackVim(
            "os-contract", "eu-west", driver_options(openstack_cloud), Resources(disk_gib=500)
        )
        await pop.start()
        yield pop
        await pop.close()
