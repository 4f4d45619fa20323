"""The ``Vim`` contract against the embedded emulated PoP, booting at once or after a delay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lower_sp.local.vim import EmulatedPop, MemoryPopStateStore, Vim
from spfed.model import Resources
from tests.contract.vim_contract import VimContract


class TestEmulatedPop(VimContract):
    @pytest.fixture(params=[0, 20], ids=["instant-boot", "boot-20ms"])
    async def vim(self, request: pytest.FixtureRequest) -> AsyncIterator[Vim]:
        pop = EmulatedPop(
            "contract-pop",
            "eu-west",
            Resources(vcpus=8, memory_mib=8192, disk_gib=80),
            MemoryPopStateStore(),
            boot_delay_ms=request.param,
        )
        await pop.start()
        yield pop
        await pop.close()
