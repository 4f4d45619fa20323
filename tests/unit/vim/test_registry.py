"""Choosing VIM drivers by name: built-ins, entry points, and clear errors."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest

from lower_sp.local.vim import (
    VIM_DRIVER_ENTRY_POINT_GROUP,
    EmulatedPop,
    MemoryPopStateStore,
    UnknownVimDriver,
    Vim,
    VimDriverRegistry,
)
from spfed.config import CapacityConfig, PopConfig
from spfed.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from spfed.model import Resources
from tests.unit.vim.third_party_driver import ThirdPartyVim

GROUP = VIM_DRIVER_ENTRY_POINT_GROUP


def _pop(driver: str, **options: str) -> PopConfig:
    return PopConfig(
        name="ams",
        region="eu-west",
        driver=driver,
        capacity=CapacityConfig(vcpus=2, memory_mib=2048, disk_gib=20),
        options=options,
    )


def _entry(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=target, group=GROUP)


def test_unknown_driver_error_lists_the_known_drivers() -> None:
    registry = VimDriverRegistry.default()
    registry.register("zeta", _entry("zeta", "tests.unit.vim.third_party_driver:ThirdPartyVim"))

    with pytest.raises(UnknownVimDriver) as raised:
        registry.create(_pop("openstak"), MemoryPopStateStore())

    error = raised.value
    assert isinstance(error, InvalidArgument)
    assert "'openstak'" in error.message
    assert "known drivers: emulated, openstack, zeta" in error.message
    assert [v.field for v in error.field_violations] == ["pops.ams.driver"]
    assert error.metadata == {"driver": "openstak", "known_drivers": "emulated,openstack,zeta"}


def test_unknown_driver_in_an_empty_registry() -> None:
    with pytest.raises(UnknownVimDriver, match="known drivers: none"):
        VimDriverRegistry().driver("emulated")


def test_the_emulated_entry_point_is_installed_and_resolves() -> None:
    (entry,) = [e for e in entry_points(group=GROUP) if e.name == "emulated"]

    assert entry.load() is EmulatedPop


def test_discovery_alone_finds_the_emulated_driver() -> None:
    registry = VimDriverRegistry()

    added = registry.discover()

    assert "emulated" in added
    assert registry.driver("emulated") is EmulatedPop


async def test_default_registry_builds_a_working_emulated_pop() -> None:
    vim = VimDriverRegistry.default().create(_pop("emulated"), MemoryPopStateStore())

    assert isinstance(vim, EmulatedPop)
    assert isinstance(vim, Vim)
    await vim.start()
    assert (await vim.capacity()).total == Resources(2, 2048, 20)
    await vim.close()


def test_driver_options_are_checked_by_the_driver() -> None:
    with pytest.raises(InvalidArgument, match="boot_delay"):
        VimDriverRegistry.default().create(_pop("emulated", boot_delay="1"), MemoryPopStateStore())


def test_a_third_party_entry_point_is_loaded_on_first_use_and_kept() -> None:
    registry = VimDriverRegistry()
    registry.register(
        "mycloud", _entry("mycloud", "tests.unit.vim.third_party_driver:ThirdPartyVim")
    )
    pop = _pop("mycloud")

    vim = registry.create(pop, MemoryPopStateStore())

    assert isinstance(vim, ThirdPartyVim)
    assert vim.built_from == pop
    assert registry.driver("mycloud") is ThirdPartyVim


def test_a_driver_object_can_be_registered_directly() -> None:
    registry = VimDriverRegistry()
    registry.register("direct", ThirdPartyVim)

    assert isinstance(registry.create(_pop("direct"), MemoryPopStateStore()), ThirdPartyVim)
    assert registry.names() == ("direct",)


@pytest.mark.parametrize(
    "target",
    [
        "tests.unit.vim.no_such_module:Driver",
        "tests.unit.vim.third_party_driver:Missing",
        "tests.unit.vim.third_party_driver:NOT_A_DRIVER",
    ],
)
def test_a_broken_entry_point_fails_with_its_name(target: str) -> None:
    registry = VimDriverRegistry()
    registry.register("broken", _entry("broken", target))

    with pytest.raises(FailedPrecondition, match=f"'broken' \\({target}\\)"):
        registry.create(_pop("broken"), MemoryPopStateStore())


def test_names_cannot_be_registered_twice() -> None:
    registry = VimDriverRegistry()
    registry.register("x", ThirdPartyVim)

    with pytest.raises(AlreadyExists):
        registry.register("x", EmulatedPop)


def test_installed_entry_points_do_not_replace_registered_drivers() -> None:
    registry = VimDriverRegistry()
    registry.register("emulated", ThirdPartyVim)

    added = registry.discover()

    assert "emulated" not in added
    assert registry.driver("emulated") is ThirdPartyVim


def test_the_openstack_driver_is_built_in_and_checks_its_options() -> None:
    registry = VimDriverRegistry.default()

    assert "openstack" in registry.names()
    with pytest.raises(InvalidArgument) as raised:
        registry.create(_pop("openstack", clouds="x"), MemoryPopStateStore())

    fields = sorted(v.field for v in raised.value.field_violations)
    assert fields == ["pops.ams.options.cloud", "pops.ams.options.clouds"]


def test_the_openstack_driver_is_built_without_touching_the_cloud() -> None:
    vim = VimDriverRegistry.default().create(
        _pop("openstack", cloud="nowhere"), MemoryPopStateStore()
    )

    assert isinstance(vim, Vim)
    assert (vim.name, vim.region) == ("ams", "eu-west")
