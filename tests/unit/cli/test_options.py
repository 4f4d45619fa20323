"""``--rule`` parsing and how rules, a placement file and ``--default-region`` combine."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from spfed.cli._access import NodeTarget
from spfed.cli._options import NAP, RULE, parse_nap, parse_rule, placement_from
from spfed.model import Nap, PlacementConstraints, PlacementRule


@pytest.mark.parametrize(
    ("text", "member", "rule"),
    [
        ("vnf_fw=region:nl", "vnf_fw", PlacementRule(region="nl")),
        (
            "ns_cdn=region:be,operator:wholesale-eu",
            "ns_cdn",
            PlacementRule(region="be", operator="wholesale-eu"),
        ),
        ("vnf_fw=pop:ams,operator:local", "vnf_fw", PlacementRule(operator="local", pop="ams")),
        (" vnf_dpi = region : us ", "vnf_dpi", PlacementRule(region="us")),
        ("ns_cdn/vnf_cache=region:be", "ns_cdn/vnf_cache", PlacementRule(region="be")),
    ],
)
def test_parse_rule(text: str, member: str, rule: PlacementRule) -> None:
    assert parse_rule(text) == (member, rule)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("vnf_fw", "is not MEMBER=region:X[,operator:Y][,pop:Z]"),
        ("=region:nl", "is not MEMBER=region:X[,operator:Y][,pop:Z]"),
        ("vnf_fw=", "'' in 'vnf_fw=' is not FIELD:VALUE"),
        ("vnf_fw=nl", "'nl' in 'vnf_fw=nl' is not FIELD:VALUE"),
        ("vnf_fw=region:", "'region:' in 'vnf_fw=region:' is not FIELD:VALUE"),
        ("vnf_fw=zone:a", "unknown field 'zone' in 'vnf_fw=zone:a'; use region, operator, pop"),
        ("vnf_fw=region:nl,region:be", "'region' is given twice"),
    ],
)
def test_parse_rule_rejects(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_rule(text)


def test_rule_type_turns_problems_into_usage_errors() -> None:
    assert RULE.convert("vnf_fw=region:nl", None, None) == ("vnf_fw", PlacementRule(region="nl"))
    with pytest.raises(click.BadParameter, match="unknown field 'zone'"):
        RULE.convert("vnf_fw=zone:nl", None, None)


def test_placement_from_rules_and_default_region() -> None:
    rules = (("vnf_fw", PlacementRule(region="nl")), ("vnf_dpi", PlacementRule(region="us")))
    assert placement_from(None, rules, "de") == PlacementConstraints(
        rules={"vnf_fw": PlacementRule(region="nl"), "vnf_dpi": PlacementRule(region="us")},
        default_region="de",
    )
    assert placement_from(None, (), None) == PlacementConstraints()


def test_rules_override_the_placement_file(tmp_path: Path) -> None:
    file = tmp_path / "placement.yaml"
    file.write_text("default_region: nl\nrules:\n  vnf_fw: {region: nl}\n  vnf_dpi: {region: us}\n")
    merged = placement_from(file, (("vnf_dpi", PlacementRule(region="de")),), None)
    assert merged == PlacementConstraints(
        rules={"vnf_fw": PlacementRule(region="nl"), "vnf_dpi": PlacementRule(region="de")},
        default_region="nl",
    )
    assert placement_from(file, (), "be").default_region == "be"


def test_invalid_placement_file_is_a_usage_error(tmp_path: Path) -> None:
    file = tmp_path / "placement.yaml"
    file.write_text("rules:\n  vnf_fw: {zone: nl}\n")
    with pytest.raises(click.BadParameter, match=r"placement\.yaml: rules\.vnf_fw\.zone"):
        placement_from(file, (), None)


def test_a_member_twice_on_the_command_line_is_a_usage_error() -> None:
    rules = (("vnf_fw", PlacementRule(region="nl")), ("vnf_fw", PlacementRule(region="be")))
    with pytest.raises(click.BadParameter, match="member 'vnf_fw' has two rules"):
        placement_from(None, rules, None)


def test_command_line_rules_get_the_placement_file_checks() -> None:
    rules = (("vnf_fw", PlacementRule(operator="wholesale-eu", pop="ams")),)
    with pytest.raises(click.BadParameter, match="a PoP pin is a PoP of the receiving node"):
        placement_from(None, rules, None)


def test_node_address_is_used_as_is_and_unknown_operators_are_usage_errors() -> None:
    assert NodeTarget("127.0.0.1:7000").address() == "127.0.0.1:7000"
    with pytest.raises(click.BadParameter, match="'retail' is neither host:port"):
        NodeTarget("retail").address()


@pytest.mark.parametrize(
    ("text", "nap"),
    [
        ("nl=192.0.2.10/32", Nap("nl", "192.0.2.10/32")),
        (" be = 2001:db8::1/128 @ output", Nap("be", "2001:db8::1/128", "output")),
        ("us=198.51.100.7", Nap("us", "198.51.100.7")),
    ],
)
def test_parse_nap(text: str, nap: Nap) -> None:
    assert parse_nap(text) == nap


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nl:192.0.2.10", "is not REGION=ADDRESS[@POINT]"),
        ("=192.0.2.10", "is not REGION=ADDRESS[@POINT]"),
        ("nl=", "is not REGION=ADDRESS[@POINT]"),
        ("nl=host.example", "'host.example' in 'nl=host.example' is not an address"),
    ],
)
def test_parse_nap_rejects(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_nap(text)
    with pytest.raises(click.BadParameter, match=re.escape(problem)):
        NAP.convert(text, None, None)
