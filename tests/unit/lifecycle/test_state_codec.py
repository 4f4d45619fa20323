"""The persisted instantiate state: typed parts in memory, the same JSON as ever on disk."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from spfed.lifecycle.context import (
    InstantiateState,
    RemotePart,
    dump_state,
    load_instantiate_state,
)
from spfed.model import DelegatedPart, LocalPart

# As a node stored it while parts were plain strings: it must still load.
STORED = {
    "service_id": "s1",
    "operation_id": "op-1",
    "block": "10.1.0.0/16",
    "space": None,
    "block_from_pool": True,
    "placement": {"fw": "pop:ams", "dpi": "sp:wholesale-eu", "nat": "pop:fra"},
    "plan": None,
    "remote": {"sp:wholesale-eu": {"lower": "wholesale-eu", "service_id": "", "last_sequence": 3}},
}


def test_a_state_stored_with_string_parts_loads_typed() -> None:
    state = load_instantiate_state(json.dumps(STORED))
    assert state.placement == {
        "fw": LocalPart("ams"),
        "dpi": DelegatedPart("wholesale-eu"),
        "nat": LocalPart("fra"),
    }
    assert state.remote == {DelegatedPart("wholesale-eu"): RemotePart("wholesale-eu", "", 3)}


def test_the_stored_form_is_unchanged_and_in_order() -> None:
    state = load_instantiate_state(json.dumps(STORED))
    assert dump_state(state) == json.dumps(STORED, separators=(",", ":"))


def test_a_typed_state_round_trips() -> None:
    state = InstantiateState(
        "s2",
        "op-2",
        placement={"a": DelegatedPart("x"), "b": LocalPart("p")},
        remote={DelegatedPart("x"): RemotePart("x", "sub-1")},
    )
    assert load_instantiate_state(dump_state(state)) == state


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("placement", {"fw": "vim:ams"}),
        ("placement", {"fw": 7}),
        ("remote", {"pop:ams": {"lower": "x"}}),
    ],
)
def test_malformed_parts_are_refused_naming_the_field(where: str, value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        load_instantiate_state(json.dumps({**STORED, where: value}))
    assert where in str(raised.value)
