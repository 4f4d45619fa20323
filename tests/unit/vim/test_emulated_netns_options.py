"""The netns options of the emulated driver: checked at configuration time, without root."""

from __future__ import annotations

import pytest

from lower_sp.local.vim import EmulatedPop, MemoryPopStateStore, NetnsPlacement, with_netns_node
from spfed.config import PopConfig
from spfed.errors import InvalidArgument

NETNS = {"netns": "on", "netns_prefix": "sfab12", "netns_node": "op-a"}


def _config(**options: str) -> PopConfig:
    return PopConfig(name="ams", region="eu-west", options=options)


def _fields(options: dict[str, str]) -> list[str]:
    with pytest.raises(InvalidArgument) as raised:
        EmulatedPop.from_config(_config(**options), MemoryPopStateStore())
    return [violation.field for violation in raised.value.field_violations]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"netns": "off"},
        {"netns": "off", "netns_prefix": "sfab12"},  # kept while turned off: harmless
        NETNS,
        {**NETNS, "boot_delay_ms": "10"},
    ],
)
def test_good_options_build_a_pop_without_touching_the_host(options: dict[str, str]) -> None:
    pop = EmulatedPop.from_config(_config(**options), MemoryPopStateStore())

    assert pop.name == "ams"


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({"netns": "yes"}, ["netns"]),
        ({"netns": "on"}, ["netns_prefix", "netns_node"]),
        ({**NETNS, "netns_prefix": "Bad-Prefix"}, ["netns_prefix"]),
        ({**NETNS, "netns_prefix": "s"}, ["netns_prefix"]),
        ({**NETNS, "netns_node": "n" * 63}, ["netns_node"]),  # too long a gateway label
        (
            {**NETNS, "netns_prefx": "sfab12", "boot_delay_ms": "-1"},
            ["netns_prefx", "boot_delay_ms"],
        ),
    ],
)
def test_every_bad_netns_option_is_named(options: dict[str, str], fields: list[str]) -> None:
    assert _fields(options) == [f"pops.ams.options.{field}" for field in fields]


def test_a_placement_checks_its_prefix_and_node() -> None:
    assert NetnsPlacement("sfab12", "op-a").gateway("ams").label == "pop.op-a.ams"
    with pytest.raises(InvalidArgument):
        NetnsPlacement("-", "op-a")
    with pytest.raises(InvalidArgument):
        NetnsPlacement("sfab12", "")


def test_the_node_fills_in_its_id_where_netns_is_on() -> None:
    on = _config(netns="on", netns_prefix="sfab12")
    off = _config(boot_delay_ms="5")

    assert with_netns_node(on, "op-a").options == {**on.options, "netns_node": "op-a"}
    assert with_netns_node(off, "op-a") is off
    named = _config(**NETNS)
    assert with_netns_node(named, "op-a") is named


def test_a_pop_naming_another_node_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        with_netns_node(_config(**NETNS), "op-b")

    assert [v.field for v in raised.value.field_violations] == ["pops.ams.options.netns_node"]
    assert "op-b" in raised.value.message
