"""The OpenStack driver's options: typed, with every problem named as a field."""

from __future__ import annotations

import pytest

from lower_sp.local.vim.openstack import OpenStackOptions, parse_options
from spfed.config import PopConfig
from spfed.errors import InvalidArgument


def _pop(**options: str) -> PopConfig:
    return PopConfig(name="os1", region="eu-west", driver="openstack", options=options)


def test_defaults_with_only_the_cloud() -> None:
    assert parse_options(_pop(cloud="lab")) == OpenStackOptions(cloud="lab")


def test_strings_become_typed_values() -> None:
    options = parse_options(
        _pop(
            cloud="lab",
            clouds_yaml="/etc/spfed/clouds.yaml",
            region_name="RegionTwo",
            capacity="configured",
            api_timeout_s="2.5",
            workers="4",
            network_type="vlan",
            physical_network="physnet1",
            port_security="off",
        )
    )

    assert options.api_timeout_s == 2.5
    assert options.workers == 4
    assert (options.capacity, options.network_type) == ("configured", "vlan")
    assert options.port_security == "off"


def test_every_problem_is_one_field_violation() -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_options(
            _pop(colud="lab", workers="many", api_timeout_s="0", capacity="guess", network_type="x")
        )

    fields = sorted(v.field for v in raised.value.field_violations)
    assert fields == [
        f"pops.os1.options.{key}"
        for key in ("api_timeout_s", "capacity", "cloud", "colud", "network_type", "workers")
    ]
    unknown = next(v for v in raised.value.field_violations if v.field.endswith("colud"))
    assert "known: cloud," in unknown.description


def test_a_vlan_network_type_needs_a_physical_network() -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_options(_pop(cloud="lab", network_type="vlan"))

    assert [v.field for v in raised.value.field_violations] == ["pops.os1.options.physical_network"]
