"""``ServiceRecord.part_holding``: which top-level part of a tree holds an address."""

from __future__ import annotations

from tests.unit.cli.test_address_plan import top


def test_an_address_is_found_in_its_local_part_or_under_its_delegated_part() -> None:
    record = top()
    local = record.part_holding("10.9.1.0")  # fw/u:eth2, on retail's own PoP
    assert local is not None
    assert local.id == "pop:ams"
    delegated = record.part_holding("10.9.1.1/31")  # nat/u:eth1, two levels of records down
    assert delegated is not None
    assert delegated.lower_sp == "low"
    assert record.part_holding("10.9.1.2") is None  # the customer's side: no port of the tree
